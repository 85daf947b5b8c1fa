/** metav1.Time as the server stamps it: RFC 3339 in UTC, whole seconds, the current second. */
import { expect } from 'chai';
import { nowTimestamp } from '../../../core/api/meta.js';

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

describe('core/api: timestamps', () => {
  it('nowTimestamp is the current second, formatted once per second however often it is asked', async () => {
    for (let round = 0; round < 3; round++) {
      const before = Date.now();
      const stamp = nowTimestamp();
      const after = Date.now();
      expect(stamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect([iso(before), iso(after)]).to.include(stamp);
      await new Promise((r) => setTimeout(r, 400));
    }
  });

  it('formats a given date', () => {
    expect(nowTimestamp(new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 999)))).to.equal('2024-05-01T10:00:00Z');
  });
});
