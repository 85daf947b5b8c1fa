/** JSON Patch (RFC 6902) with upstream's semantics (gopkg.in/evanphx/json-patch.v4) and texts. */
import { expect } from 'chai';
import { applyJsonPatch, JsonPatchError, MAX_COPY_BYTES } from '../../../plugins/api-patch-json/json-patch.js';

type Doc = Parameters<typeof applyJsonPatch>[0];
const doc = (): Doc => ({
  metadata: { name: 'x', labels: { a: '1' } },
  list: ['a', 'b', 'c'],
  data: { 'a/b': '1', 'c~d': '2' },
});

function failure(d: Doc, ops: unknown[]): string {
  try {
    applyJsonPatch(d, ops);
  } catch (err) {
    expect(err).to.be.instanceOf(JsonPatchError);
    return (err as Error).message;
  }
  throw new Error(`the patch applied: ${JSON.stringify(ops)}`);
}

describe('plugins/api-patch-json/json-patch', () => {
  it('add, remove, replace, move, copy and test, in order, each seeing the previous', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'test', path: '/metadata/labels/b', value: '2' },
      { op: 'copy', from: '/metadata/labels', path: '/copied' },
      { op: 'move', from: '/copied/a', path: '/moved' },
      { op: 'replace', path: '/list/0', value: 'A' },
      { op: 'remove', path: '/list/1' },
    ]);
    expect(out).to.deep.equal({
      metadata: { name: 'x', labels: { a: '1', b: '2' } },
      list: ['A', 'c'],
      data: { 'a/b': '1', 'c~d': '2' },
      copied: { b: '2' },
      moved: '1',
    });
  });

  it("keeps upstream's quirks: negative indices, '-' appends, replace of a missing key adds it, a missing value is null", () => {
    const out = applyJsonPatch(doc(), [
      { op: 'add', path: '/list/-', value: 'd' },
      { op: 'add', path: '/list/-2', value: 'before-last' },
      { op: 'remove', path: '/list/-1' },
      { op: 'replace', path: '/metadata/labels/new', value: 'n' },
      { op: 'add', path: '/nothing' },
    ]) as Record<string, unknown>;
    expect(out.list).to.deep.equal(['a', 'b', 'c', 'before-last']);
    // A copy from a missing key of an existing map copies null, as upstream's.
    expect(applyJsonPatch(doc(), [{ op: 'copy', from: '/metadata/nope', path: '/c' }])).to.have.property('c', null);
    expect((out.metadata as { labels: object }).labels).to.deep.equal({ a: '1', new: 'n' });
    expect(out.nothing).to.equal(null);
  });

  it('unescapes ~1 and ~0 in that order', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'test', path: '/data/a~1b', value: '1' },
      { op: 'remove', path: '/data/c~0d' },
    ]) as { data: object };
    expect(out.data).to.deep.equal({ 'a/b': '1' });
  });

  it('test: a missing key equals null or an absent value, and nothing else', () => {
    applyJsonPatch(doc(), [{ op: 'test', path: '/metadata/nope', value: null }]);
    applyJsonPatch(doc(), [{ op: 'test', path: '/metadata/nope' }]);
    expect(failure(doc(), [{ op: 'test', path: '/metadata/nope', value: 'x' }])).to.equal(
      'testing value /metadata/nope failed: test failed',
    );
    expect(failure(doc(), [{ op: 'test', path: '/metadata/name' }])).to.equal(
      'testing value /metadata/name failed: test failed',
    );
  });

  it("fails with upstream's texts", () => {
    const cases: [unknown[], string][] = [
      [
        [{ op: 'add', path: '/nope/x', value: 1 }],
        'add operation does not apply: doc is missing path: "/nope/x": missing value',
      ],
      [
        [{ op: 'remove', path: '/metadata/nope' }],
        "error in remove for path: '/metadata/nope': Unable to remove nonexistent key: nope: missing value",
      ],
      [
        [{ op: 'replace', path: '/list/9', value: 1 }],
        'replace operation does not apply: doc is missing key: /list/9: missing value',
      ],
      [
        [{ op: 'add', path: '/list/9', value: 1 }],
        "error in add for path: '/list/9': Unable to access invalid index: 9: invalid index referenced",
      ],
      [
        [{ op: 'move', from: '/metadata', path: '/metadata/x' }],
        'move operation does not apply: doc is missing destination path: /metadata/x: missing value',
      ],
      [
        [{ op: 'copy', from: '/nope/deeper', path: '/x' }],
        'copy operation does not apply: doc is missing from path: /nope/deeper: missing value',
      ],
      [[{ op: 'add', path: 5, value: 1 }], 'add operation failed to decode path: missing value'],
      [
        [{ op: 'replace', value: 1 }],
        'replace operation failed to decode path: operation missing path field: missing value',
      ],
      [[{ op: 'frob', path: '/x' }], 'Unexpected kind: frob'],
      [[{ path: '/x' }], 'Unexpected kind: unknown'],
      [[null], 'Unexpected kind: unknown'],
      [[{ op: 'replace', path: '', value: 'x' }], 'replace operation value must be object or array'],
    ];
    for (const [ops, message] of cases) expect(failure(doc(), ops), JSON.stringify(ops)).to.equal(message);
  });

  it('walks own properties only: __proto__, constructor and toString are keys like any other', () => {
    expect(failure(doc(), [{ op: 'add', path: '/__proto__/polluted', value: 1 }])).to.equal(
      'add operation does not apply: doc is missing path: "/__proto__/polluted": missing value',
    );
    expect(failure(doc(), [{ op: 'add', path: '/metadata/toString/x', value: 1 }])).to.contain('doc is missing path');
    expect(failure(doc(), [{ op: 'add', path: '/constructor/prototype/x', value: 1 }])).to.contain(
      'doc is missing path',
    );
    expect(failure(doc(), [{ op: 'replace', path: '/list/constructor', value: 1 }])).to.contain('doc is missing key');
    const out = applyJsonPatch(doc(), [
      { op: 'add', path: '/data/__proto__', value: { polluted: true } },
      { op: 'add', path: '/data/constructor', value: 'c' },
    ]) as { data: Record<string, unknown> };
    expect(Object.getPrototypeOf(out.data)).to.equal(Object.prototype);
    expect(Object.keys(out.data)).to.deep.equal(['a/b', 'c~d', '__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect((Object.prototype.toString as unknown as Record<string, unknown>).x).to.equal(undefined);
  });

  it('copies values in, so applying the same operations again (a retried update) gives the same result', () => {
    const ops = [
      { op: 'add', path: '/v', value: { inner: [] } },
      { op: 'add', path: '/v/inner/-', value: 1 },
    ];
    const first = applyJsonPatch(doc(), ops);
    const second = applyJsonPatch(doc(), ops);
    expect(second).to.deep.equal(first);
    expect(ops[0]!.value).to.deep.equal({ inner: [] });
  });

  it("caps what copies may add, as upstream's --json-patch-max-copy-bytes (a doubling patch cannot grow without bound)", () => {
    const big = 'x'.repeat(512 * 1024);
    const ops: unknown[] = [{ op: 'add', path: '/a', value: [big] }];
    for (let i = 0; i < 12; i++) ops.push({ op: 'copy', from: '/a', path: '/a/-' });
    expect(failure({}, ops)).to.match(
      new RegExp(
        `^Unable to complete the copy, the accumulated size increase of copy is \\d+, exceeding the limit ${MAX_COPY_BYTES}$`,
      ),
    );
  });
});
