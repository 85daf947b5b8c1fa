import { expect } from 'chai';
import {
  exactMatch,
  labelSelectorFromObject,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorFromSet,
  validateFieldSelector,
} from '../../../core/api/selectors.js';

const labels = { app: 'web', tier: 'front', 'example.com/team': 'blue' };

describe('core/api/selectors', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['app notin (db, cache)', true],
    ['missing notin (a)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['example.com/team=blue', true],
    ['app in (web), !missing, tier', true],
  ];
  for (const [selector, want] of cases) {
    it(`label selector "${selector}" ${want ? 'matches' : 'does not match'}`, () => {
      expect(matchesLabels(parseLabelSelector(selector), labels)).to.equal(want);
    });
  }

  for (const bad of ['app in (', 'app = =', 'Bad Key=x', 'app=' + 'x'.repeat(64), 'app in ()', ',']) {
    it(`rejects "${bad}" with a 400`, () => {
      expect(() => parseLabelSelector(bad))
        .to.throw()
        .with.property('code', 400);
    });
  }

  it('metav1.LabelSelector and plain map selectors', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front'] },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    });
    expect(matchesLabels(sel, labels)).to.equal(true);
    expect(matchesLabels(selectorFromSet({ app: 'db' }), labels)).to.equal(false);
    expect(matchesLabels(selectorFromSet({}), undefined)).to.equal(true);
  });

  describe('field selectors', () => {
    const fields: Record<string, string> = { 'metadata.name': 'a,b', 'status.phase': 'Running', 'spec.nodeName': '' };
    const get = (f: string) => fields[f];
    it('=, ==, != and AND, with escapes', () => {
      expect(matchesFields(parseFieldSelector('status.phase=Running'), get)).to.equal(true);
      expect(matchesFields(parseFieldSelector('status.phase==Running,spec.nodeName='), get)).to.equal(true);
      expect(matchesFields(parseFieldSelector('status.phase!=Running'), get)).to.equal(false);
      expect(matchesFields(parseFieldSelector('metadata.name=a\\,b'), get)).to.equal(true);
      expect(exactMatch(parseFieldSelector('metadata.name=a\\,b,status.phase=Running'), 'metadata.name')).to.equal(
        'a,b',
      );
    });
    it('unsupported fields and malformed selectors are 400s with upstream wording', () => {
      expect(() => validateFieldSelector(parseFieldSelector('spec.foo=x'), new Set(['metadata.name'])))
        .to.throw('field label not supported: spec.foo')
        .with.property('code', 400);
      expect(() => parseFieldSelector('novalue'))
        .to.throw()
        .with.property('code', 400);
      expect(() => parseFieldSelector('a=b\\x'))
        .to.throw()
        .with.property('code', 400);
    });
  });
});
