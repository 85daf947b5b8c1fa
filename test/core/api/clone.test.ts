/** clone: the deep copy every update, patch and in-process client call makes of API objects. */
import { expect } from 'chai';
import { clone } from '../../../core/api/meta.js';

describe('clone', () => {
  it('copies every level, so changing the copy leaves the original as it was', () => {
    const original = Object.freeze({
      metadata: Object.freeze({ name: 'p', labels: Object.freeze({ app: 'a' }) }),
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }], replicas: null },
    });
    const copy = clone(original) as {
      metadata: { labels: Record<string, string> };
      spec: { containers: { ports: unknown[] }[] };
    };
    expect(copy).to.deep.equal(original);
    expect(Object.isFrozen(copy.metadata)).to.equal(false);
    copy.metadata.labels.app = 'b';
    copy.spec.containers[0]!.ports.push({ containerPort: 81 });
    expect(original.metadata.labels.app).to.equal('a');
    expect(original.spec.containers[0]!.ports).to.have.length(1);
  });

  it('keeps a "__proto__" key as data, and copies what is not plain JSON as JSON would carry it', () => {
    const parsed = JSON.parse('{"data":{"__proto__":{"polluted":true},"ok":1}}');
    const copy = clone(parsed);
    expect(Object.getPrototypeOf(copy.data)).to.equal(Object.prototype);
    expect(copy.data.polluted).to.equal(undefined);
    expect(Object.keys(copy.data)).to.deep.equal(['__proto__', 'ok']);
    expect(JSON.stringify(copy)).to.equal(JSON.stringify(parsed));
    const when = new Date('2026-12-01T00:00:00Z');
    expect(clone({ at: when })).to.deep.equal({ at: '2026-12-01T00:00:00.000Z' });
  });

  it('gives exactly what a JSON round trip gives: undefined and functions dropped, null in arrays', () => {
    const value = {
      a: undefined,
      b: () => 1,
      c: [undefined, () => 1, Number.NaN, Number.POSITIVE_INFINITY, 1],
      d: { e: undefined, f: 'x' },
      n: -0,
    };
    const copy = clone(value);
    expect(copy).to.deep.equal(JSON.parse(JSON.stringify(value)));
    expect(Object.keys(copy)).to.deep.equal(['c', 'd', 'n']);
    expect(Object.keys(copy.d)).to.deep.equal(['f']);
  });

  it('a cycle or a value nested past twice the API limit (an in-process caller could hand one in) is a 400, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { metadata: { name: 'loop' } };
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    for (const value of [cyclic, { spec: deep }]) {
      expect(() => clone(value))
        .to.throw('the object is nested too deeply: exceeded max depth of 1000')
        .with.property('code', 400);
    }
    let fine: unknown = 1;
    for (let i = 0; i < 1_500; i++) fine = { a: fine };
    expect(JSON.stringify(clone(fine))).to.equal(JSON.stringify(fine));
  });
});
