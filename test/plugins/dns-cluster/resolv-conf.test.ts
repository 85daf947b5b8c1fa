/** The kubelet's pod resolv.conf (plugins/node-kubelet/dns-config.ts) for each dnsPolicy, as upstream's. */
import { expect } from 'chai';
import { parseResolvConf, resolvConfFor } from '../../../plugins/node-kubelet/dns-config.js';

const host = parseResolvConf('# host\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0 ndots:1\n');
const pod = (spec: Record<string, unknown> = {}) => ({
  metadata: { name: 'p', namespace: 'shop' },
  spec: { containers: [], ...spec },
});
const DNS = ['10.96.0.10'];

describe("node-kubelet: pods' resolv.conf by dnsPolicy", () => {
  it("ClusterFirst (the default): the cluster DNS, the namespace search path then the host's, ndots:5", () => {
    expect(resolvConfFor(pod(), DNS, 'cluster.local', host)).to.equal(
      'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n',
    );
  });

  it("keeps the host's file for hostNetwork pods (unless ClusterFirstWithHostNet), Default, and without --cluster-dns", () => {
    expect(resolvConfFor(pod({ hostNetwork: true }), DNS, 'cluster.local', host)).to.equal(undefined);
    expect(resolvConfFor(pod({ dnsPolicy: 'Default' }), DNS, 'cluster.local', host)).to.equal(undefined);
    expect(resolvConfFor(pod(), [], 'cluster.local', host)).to.equal(undefined);
    const withHostNet = resolvConfFor(
      pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }),
      DNS,
      'c.local',
      host,
    );
    expect(withHostNet).to.match(/^nameserver 10\.96\.0\.10\n/);
  });

  it('None takes dnsConfig alone; dnsConfig adds nameservers and searches and overrides options by name', () => {
    const dnsConfig = {
      nameservers: ['192.0.2.1'],
      searches: ['a.example'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    };
    expect(resolvConfFor(pod({ dnsPolicy: 'None', dnsConfig }), DNS, 'cluster.local', host)).to.equal(
      'nameserver 192.0.2.1\nsearch a.example\noptions ndots:2 edns0\n',
    );
    const merged = resolvConfFor(pod({ dnsConfig }), DNS, 'cluster.local', host)!;
    expect(merged).to.contain('nameserver 10.96.0.10\nnameserver 192.0.2.1\n');
    expect(merged).to.contain('options ndots:2 edns0\n');
  });
});
