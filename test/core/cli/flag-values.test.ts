import { expect } from 'chai';
import { InvalidArgumentError } from 'commander';
import { bool, goDurationSeconds } from '../../../core/cli/flag-values.js';

describe('core/cli/flag-values', () => {
  it("reads Go durations as upstream's flags take them", () => {
    expect(goDurationSeconds('15s')).to.equal(15);
    expect(goDurationSeconds('1m30s')).to.equal(90);
    expect(goDurationSeconds('500ms')).to.equal(0.5);
    expect(goDurationSeconds('1h')).to.equal(3600);
    expect(goDurationSeconds('1.5s')).to.equal(1.5);
    for (const bad of ['15', 's', '15 s', '-1s', '1d', '']) {
      expect(() => goDurationSeconds(bad), bad).to.throw(InvalidArgumentError);
    }
  });

  it('reads true and false, nothing else', () => {
    expect(bool('true')).to.equal(true);
    expect(bool('false')).to.equal(false);
    expect(() => bool('yes')).to.throw(InvalidArgumentError, 'expected true or false');
  });
});
