/**
 * The shape of a KubeSchedulerConfiguration v1 document: its known fields and their types, checked
 * as upstream's strict decoding does (an unknown field is an error: usually a typo, such as
 * `plugin:` for `plugins:`), and metav1.Duration values ("15s", "1m30s", "500ms").
 */
import { EXTENSION_POINTS } from '../framework/framework.js';

type Obj = Record<string, unknown>;
type FieldType = 'string' | 'int' | 'bool' | 'duration' | 'object' | 'any' | Spec | [Spec];
interface Spec {
  [field: string]: FieldType;
}

const PLUGIN: Spec = { name: 'string', weight: 'int' };
const PLUGIN_SET: Spec = { enabled: [PLUGIN], disabled: [PLUGIN] };
// The extension points, and multiPoint (every point a plugin implements).
const POINTS = [...EXTENSION_POINTS, 'multiPoint'];
const PLUGINS: Spec = Object.fromEntries(POINTS.map((p) => [p, PLUGIN_SET]));
const PROFILE: Spec = {
  schedulerName: 'string',
  percentageOfNodesToScore: 'int',
  plugins: PLUGINS,
  pluginConfig: [{ name: 'string', args: 'object' }],
};

export const CONFIGURATION: Spec = {
  apiVersion: 'string',
  kind: 'string',
  parallelism: 'int',
  leaderElection: {
    leaderElect: 'bool',
    leaseDuration: 'duration',
    renewDeadline: 'duration',
    retryPeriod: 'duration',
    resourceLock: 'string',
    resourceName: 'string',
    resourceNamespace: 'string',
  },
  clientConnection: {
    kubeconfig: 'string',
    acceptContentTypes: 'string',
    contentType: 'string',
    qps: 'any',
    burst: 'int',
  },
  enableProfiling: 'bool',
  enableContentionProfiling: 'bool',
  percentageOfNodesToScore: 'int',
  podInitialBackoffSeconds: 'int',
  podMaxBackoffSeconds: 'int',
  profiles: [PROFILE],
  extenders: ['any' as unknown as Spec],
  delayCacheUntilActive: 'bool',
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+$/;
const UNIT: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

export function durationSeconds(v: unknown): number {
  if (typeof v === 'number') return v / 1e9; // a bare number is nanoseconds, as Go reads it
  const text = String(v);
  if (text === '0') return 0;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) total += Number(n) * UNIT[unit!]!;
  return total;
}

function typeProblem(t: FieldType, v: unknown): string | undefined {
  if (v === null) return undefined;
  switch (t) {
    case 'string':
      return typeof v === 'string' ? undefined : 'must be a string';
    case 'int':
      return Number.isInteger(v) ? undefined : 'must be an integer';
    case 'bool':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'duration':
      return typeof v === 'number' || (typeof v === 'string' && (v === '0' || DURATION.test(v)))
        ? undefined
        : 'must be a duration such as 15s or 1m30s';
    case 'object':
      return v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'must be an object';
    case 'any':
      return undefined;
    default:
      if (Array.isArray(t)) return Array.isArray(v) ? undefined : 'must be a list';
      return v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'must be an object';
  }
}

/** Every unknown field and wrongly typed value, as "path: problem". */
export function checkShape(doc: Obj, spec: Spec = CONFIGURATION, at = ''): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const path = at ? `${at}.${key}` : key;
    const t = spec[key];
    if (t === undefined) {
      problems.push(`unknown field "${path}"`);
      continue;
    }
    const bad = typeProblem(t, value);
    if (bad) problems.push(`${path}: ${bad}`);
    else if (Array.isArray(t) && Array.isArray(value) && typeof t[0] === 'object') {
      value.forEach((item, i) => {
        const itemBad = typeProblem(t[0], item);
        if (itemBad) problems.push(`${path}[${i}]: ${itemBad}`);
        else if (item) problems.push(...checkShape(item as Obj, t[0], `${path}[${i}]`));
      });
    } else if (typeof t === 'object' && !Array.isArray(t) && value) problems.push(...checkShape(value as Obj, t, path));
  }
  if (at === '' && Array.isArray(doc.extenders) && doc.extenders.length > 0) {
    problems.push(
      "extenders: Skiff's scheduler does not call scheduler extenders; write a scheduler plugin instead (skiff/sdk/scheduler)",
    );
  }
  return problems;
}
