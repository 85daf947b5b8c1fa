/** RecentWrites: the watch cache's copy of what this process wrote, instead of a parse of it. */
import { expect } from 'chai';
import { RecentWrites } from '../../../core/api/store/recent-writes.js';
import type { KubeObject } from '../../../core/api/types.js';

function pod(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', resourceVersion: '7', labels: { app: 'a' } },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  };
}

describe('RecentWrites', () => {
  it('stores the text without resourceVersion and decodes it as a parse would, stamped with the revision', () => {
    const recent = new RecentWrites();
    const obj = pod('p');
    const value = recent.encode(obj);
    expect(JSON.parse(value).metadata).to.not.have.property('resourceVersion');
    const decoded = recent.decode({ value, modRevision: 9 });
    const parsed = JSON.parse(value);
    parsed.metadata.resourceVersion = '9';
    expect(decoded).to.deep.equal(parsed);
    expect(JSON.stringify(decoded)).to.equal(JSON.stringify(parsed));
    expect(obj.metadata.resourceVersion).to.equal('7');
  });

  it('keeps its own copy: changing the written object after the write does not reach the cache', () => {
    const recent = new RecentWrites();
    const obj = pod('p');
    const value = recent.encode(obj);
    obj.metadata.labels!.app = 'changed';
    (obj.spec as { containers: unknown[] }).containers.push({ name: 'd' });
    const decoded = recent.decode({ value, modRevision: 2 });
    expect(decoded.metadata.labels).to.deep.equal({ app: 'a' });
    expect((decoded.spec as { containers: unknown[] }).containers).to.have.length(1);
  });

  it('hands each copy out once, then parses; text it never wrote is parsed', () => {
    const recent = new RecentWrites();
    const value = recent.encode(pod('p'));
    const first = recent.decode({ value, modRevision: 3 });
    const second = recent.decode({ value, modRevision: 3 });
    expect(second).to.deep.equal(first);
    expect(second).to.not.equal(first);
    expect(recent.size).to.equal(0);
    const foreign = JSON.stringify({ ...pod('q'), metadata: { name: 'q' } });
    expect(recent.decode({ value: foreign, modRevision: 4 }).metadata).to.deep.equal({
      name: 'q',
      resourceVersion: '4',
    });
  });

  it('forgets the oldest writes once full (writes storage refused are never taken)', () => {
    const recent = new RecentWrites(3);
    const values = ['a', 'b', 'c', 'd'].map((n) => recent.encode(pod(n)));
    expect(recent.size).to.equal(3);
    // 'a' was dropped: still decoded right, by parsing.
    expect(recent.decode({ value: values[0]!, modRevision: 5 }).metadata.name).to.equal('a');
    expect(recent.size).to.equal(3);
    expect(recent.decode({ value: values[3]!, modRevision: 6 }).metadata.name).to.equal('d');
    expect(recent.size).to.equal(2);
  });
});
