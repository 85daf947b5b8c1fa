/** The cached encoders must produce exactly what the plain builders produce. */
import { expect } from 'chai';
import type { KubeObject, ResourceDefinition } from '../../../core/api/types.js';
import { encodeJson, encodeTable } from '../../../core/server/encode.js';
import { toTable } from '../../../core/server/table.js';

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', resourceVersion: rv, creationTimestamp: '2026-11-24T10:00:00Z' },
  data: { k: name },
});
const def = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  table: {
    columns: [
      { name: 'Name', type: 'string' },
      { name: 'Data', type: 'integer' },
    ],
    row: (o: KubeObject) => [o.metadata.name, Object.keys((o as { data?: object }).data ?? {}).length],
  },
} as unknown as ResourceDefinition;
const list = {
  apiVersion: 'v1',
  kind: 'ConfigMapList',
  metadata: { resourceVersion: '9' },
  items: [cm('a', '1'), cm('b', '2')],
};

describe('server: response encoders', () => {
  it('encodeJson of a list equals JSON.stringify, also on the second (cached) call', () => {
    expect(JSON.parse(String(encodeJson(list)))).to.deep.equal(list);
    expect(JSON.parse(String(encodeJson(list)))).to.deep.equal(list);
  });

  it('encodeTable equals toTable for every includeObject mode, lists and single objects', () => {
    const now = new Date('2026-11-24T11:00:00Z');
    for (const include of ['None', 'Metadata', 'Object'] as const) {
      for (const body of [list, cm('c', '3')]) {
        const bytes = encodeTable(def, body, include, now);
        expect(JSON.parse(bytes.toString()), include).to.deep.equal(toTable(def, body, include, now));
      }
    }
  });

  it('rebuilds a cached one-object Table when its cells change', () => {
    const aged = {
      ...def,
      table: { ...def.table!, row: (o: KubeObject, now: Date) => [o.metadata.name, now.toISOString()] },
    };
    const obj = cm('d', '4');
    for (const at of ['2026-11-24T11:00:00Z', '2026-11-24T11:00:00Z', '2026-11-24T12:00:00Z']) {
      const now = new Date(at);
      expect(JSON.parse(encodeTable(aged, obj, 'Metadata', now).toString())).to.deep.equal(
        toTable(aged, obj, 'Metadata', now),
      );
    }
  });
});
