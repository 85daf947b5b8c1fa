/** The round-robin balancer and the Service/Endpoints model, without sockets. */
import { expect } from 'chai';
import { RoundRobin } from '../../../plugins/proxy-userspace/balancer.js';
import { servicePorts, sliceEndpoints } from '../../../plugins/proxy-userspace/model.js';

const e = (n: number) => ({ ip: `127.0.0.${n}`, port: 80 });
const names = (list: { ip: string }[]) => list.map((x) => x.ip.split('.')[3]).join(',');

describe('proxy-userspace: round robin and affinity', () => {
  it('takes turns, and lists the others after the chosen one (to skip a refusing endpoint)', () => {
    const rr = new RoundRobin();
    rr.update([e(1), e(2), e(3)], 0);
    expect(names(rr.next('c'))).to.equal('1,2,3');
    expect(names(rr.next('c'))).to.equal('2,3,1');
    expect(names(rr.next('c'))).to.equal('3,1,2');
  });

  it('keeps a ClientIP on the endpoint that answered until it has been idle for the timeout', () => {
    const rr = new RoundRobin();
    rr.update([e(1), e(2)], 10);
    expect(rr.next('a', 0)[0]).to.deep.equal(e(1));
    rr.answered('a', e(1), 0);
    expect(rr.next('a', 9_000)[0], 'within the timeout').to.deep.equal(e(1));
    rr.answered('a', e(1), 9_000);
    expect(rr.next('a', 18_000)[0], 'each use renews it').to.deep.equal(e(1));
    expect(rr.next('b', 18_000)[0], 'another client takes the next turn').to.deep.equal(e(2));
    expect(rr.next('c', 18_000)[0]).to.deep.equal(e(1));
    expect(rr.next('a', 19_001)[0], 'idle for more than 10 s: a turn of the round robin').to.deep.equal(e(2));
  });

  it('forgets an affinity when its endpoint leaves', () => {
    const rr = new RoundRobin();
    rr.update([e(1), e(2)], 100);
    rr.answered('a', e(2), 0);
    expect(rr.next('a', 1)[0]).to.deep.equal(e(2));
    rr.update([e(1), e(3)], 100);
    expect(rr.next('a', 2)[0]).to.not.deep.equal(e(2));
  });

  it('reads ready addresses only, matched by port name, and skips headless and ExternalName services', () => {
    const svc = (spec: Record<string, unknown>) => ({ metadata: { name: 's', namespace: 'n' }, spec });
    const endpoints = {
      metadata: { name: 's', namespace: 'n' },
      subsets: [
        {
          addresses: [{ ip: '127.0.0.1', nodeName: 'n1' }],
          notReadyAddresses: [{ ip: '127.0.0.2' }],
          ports: [
            { name: 'http', port: 8080 },
            { name: 'metrics', port: 9090 },
          ],
        },
      ],
    };
    const [http, metrics] = servicePorts(
      svc({
        clusterIP: '127.96.0.9',
        ports: [
          { name: 'http', port: 80 },
          { name: 'metrics', port: 9 },
        ],
      }),
      { endpoints },
    );
    expect(http!.endpoints).to.deep.equal([{ ip: '127.0.0.1', port: 8080, nodeName: 'n1' }]);
    expect(metrics!.endpoints).to.deep.equal([{ ip: '127.0.0.1', port: 9090, nodeName: 'n1' }]);
    expect(servicePorts(svc({ clusterIP: 'None', ports: [{ port: 80 }] }), { endpoints })).to.deep.equal([]);
    expect(
      servicePorts(svc({ type: 'ExternalName', externalName: 'x.example', ports: [{ port: 80 }] }), { endpoints }),
    ).to.deep.equal([]);
    const sticky = servicePorts(
      svc({ clusterIP: '127.96.0.9', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
      {},
    );
    expect(sticky[0]!.affinitySeconds, "upstream's default timeout").to.equal(10_800);
  });

  it('reads EndpointSlices as kube-proxy: ready (or unset) endpoints; serving terminating ones only when none is ready', () => {
    const slice = (endpoints: unknown[]) => ({
      addressType: 'IPv4',
      metadata: { name: 'x' },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints,
    });
    const port = { name: 'http', port: 80 };
    const ready = { addresses: ['127.0.0.1'], conditions: { ready: true } };
    const unset = { addresses: ['127.0.0.2'] };
    const leaving = { addresses: ['127.0.0.3'], conditions: { ready: false, serving: true, terminating: true } };
    const unready = { addresses: ['127.0.0.4'], conditions: { ready: false, serving: false } };
    const ips = (list: { ip: string }[]) => list.map((x) => x.ip);
    expect(ips(sliceEndpoints([slice([ready, unset, leaving, unready])] as never, port))).to.deep.equal([
      '127.0.0.1',
      '127.0.0.2',
    ]);
    expect(ips(sliceEndpoints([slice([leaving, unready])] as never, port))).to.deep.equal(['127.0.0.3']);
    expect(sliceEndpoints([slice([ready])] as never, { name: 'other', port: 81 })).to.deep.equal([]);
  });
});
