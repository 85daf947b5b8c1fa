/** The watch cache's bounded history: the last `limit` changes in order, across compactions. */
import { expect } from 'chai';
import type { Change } from '../../../core/api/watch-events.js';
import { ChangeLog } from '../../../plugins/api-watch-cache/change-log.js';

const change = (revision: number) =>
  ({ key: `/k/${revision}`, namespace: '', revision, type: 'ADDED', object: { metadata: {} }, views: {} }) as Change;
const revisions = (log: ChangeLog, after = 0) => [...log.after(after)].map((c) => c.revision);

describe('api-watch-cache: the change log', () => {
  it('keeps every change until the limit, dropping none', () => {
    const log = new ChangeLog(3);
    expect([1, 2, 3].map((r) => log.push(change(r)))).to.deep.equal([undefined, undefined, undefined]);
    expect(revisions(log)).to.deep.equal([1, 2, 3]);
  });

  it('drops the oldest beyond the limit and says which revision went', () => {
    const log = new ChangeLog(3);
    for (const r of [1, 2, 3]) log.push(change(r));
    expect(log.push(change(4))).to.equal(1);
    expect(log.push(change(5))).to.equal(2);
    expect(revisions(log)).to.deep.equal([3, 4, 5]);
    expect(log.length).to.equal(3);
  });

  it('holds the last `limit` changes in order through many compactions', () => {
    const log = new ChangeLog(4);
    const dropped: number[] = [];
    for (let r = 1; r <= 23; r++) {
      const d = log.push(change(r));
      if (d !== undefined) dropped.push(d);
    }
    expect(revisions(log)).to.deep.equal([20, 21, 22, 23]);
    expect(dropped).to.deep.equal(Array.from({ length: 19 }, (_, i) => i + 1));
    expect(revisions(log, 21)).to.deep.equal([22, 23]);
  });

  it('starts over empty after clear', () => {
    const log = new ChangeLog(2);
    for (const r of [1, 2, 3]) log.push(change(r));
    log.clear();
    expect(log.length).to.equal(0);
    log.push(change(9));
    expect(revisions(log)).to.deep.equal([9]);
  });
});
