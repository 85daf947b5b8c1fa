/** resource.Quantity: exact parsing and upstream's canonical printing. */
import { expect } from 'chai';
import { canonicalQuantity, formatQuantity, parseQuantityWithFormat } from '../../core/api/quantity.js';

describe('Quantity', () => {
  const canonical: [string, string][] = [
    ['100m', '100m'],
    ['0.1', '100m'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1e3', '1e3'],
    ['1.5Gi', '1536Mi'],
    ['1024Mi', '1Gi'],
    ['512', '512'],
    ['0.5Gi', '512Mi'],
    ['1Ki', '1Ki'],
    ['2000000', '2M'],
    ['0', '0'],
    ['1n', '1n'],
    ['0.0000000001', '1n'], // rounded up to the smallest unit, as upstream
  ];
  for (const [input, expected] of canonical) {
    it(`prints ${input} as ${expected}`, () => expect(canonicalQuantity(input)).to.equal(expected));
  }

  it('keeps the format of the value it was written in, and adds exactly', () => {
    const a = parseQuantityWithFormat('1.5Gi')!;
    const b = parseQuantityWithFormat('512Mi')!;
    expect(a.format).to.equal('BinarySI');
    expect(formatQuantity(a.nano + b.nano, a.format)).to.equal('2Gi');
    const m = parseQuantityWithFormat('250m')!;
    expect(formatQuantity(m.nano * 4n, m.format)).to.equal('1');
    expect(parseQuantityWithFormat('1e3')!.format).to.equal('DecimalExponent');
    expect(parseQuantityWithFormat('12x')).to.equal(undefined);
  });

  it('remembers what a string parsed to, shared read-only, and still refuses what is no quantity', () => {
    const first = parseQuantityWithFormat(' 750m ')!;
    const again = parseQuantityWithFormat(' 750m ')!;
    expect(again).to.equal(first);
    expect(again).to.deep.equal({ nano: 750_000_000n, format: 'DecimalSI' });
    expect(() => {
      (again as { nano: bigint }).nano = 1n;
    }).to.throw(TypeError);
    expect(parseQuantityWithFormat('12x')).to.equal(undefined);
    expect(parseQuantityWithFormat('12x')).to.equal(undefined);
    expect(parseQuantityWithFormat(1.5)).to.deep.equal({ nano: 1_500_000_000n, format: 'DecimalSI' });
  });
});
