/**
 * Reading ABAC policy files, as upstream's pkg/auth/authorizer/abac (NewFromFile): one JSON object
 * per line, blank lines and `#` comments skipped. A line is either a legacy unversioned policy (user,
 * group, readonly, resource, namespace) or an `abac.authorization.kubernetes.io/v1beta1` Policy.
 *
 * Upstream decodes each line into typed Go structs: a value of the wrong type (`"readonly": "true"`)
 * fails the whole file with its line number, and unknown keys are silently ignored. Here a wrong type
 * is an error too (so a quoted "true" can never leave a line read-write), `null` is one as well
 * (upstream reads it as "absent", which widens a legacy line), and unknown keys are warnings.
 */

export interface PolicyRule {
  line: number;
  user: string;
  group: string;
  readonly: boolean;
  apiGroup: string;
  resource: string;
  namespace: string;
  nonResourcePath: string;
  /** The line as written, for explanations. */
  source: string;
}

/** A line the server refuses to load, and what to write instead. */
export interface PolicyError {
  line: number;
  message: string;
  fix: string;
}

export interface PolicyWarning {
  line: number;
  message: string;
  /** A key upstream does not know and ignores; `--abac-strict` refuses these. */
  unknownKey?: boolean;
}

export interface ParsedPolicy {
  /** The rules of the lines that parsed; a file with errors is never enforced. */
  rules: PolicyRule[];
  /** Per line: what upstream would have done differently, or keys it does not know. */
  warnings: PolicyWarning[];
  errors: PolicyError[];
}

const GROUP = 'abac.authorization.kubernetes.io';
const V1BETA1 = `${GROUP}/v1beta1`;
/** Upstream registers the unversioned format as v0 too, so it may also be written with its apiVersion. */
const V0 = `${GROUP}/v0`;
const LEGACY_KEYS = ['user', 'group', 'readonly', 'resource', 'namespace'];
const SPEC_KEYS = ['user', 'group', 'readonly', 'apiGroup', 'resource', 'namespace', 'nonResourcePath'];

type Json = Record<string, unknown>;

/** What a fix suggests for each string field. */
const EXAMPLES: Record<string, string> = {
  user: 'bob',
  group: 'devs',
  resource: 'pods',
  namespace: 'my-namespace',
  ns: 'my-namespace',
  apiGroup: 'apps',
  nonResourcePath: '/healthz',
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as a message names it: `the string "true"`, `null`, `an array [...]`. */
function describe(v: unknown): string {
  const json = JSON.stringify(v) ?? String(v);
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array ${shown}`;
  if (typeof v === 'object') return `an object ${shown}`;
  return `the ${typeof v} ${shown}`;
}

/** A known key the writer probably meant: case slips ("readOnly") and plurals ("namespaces"). */
function nearMiss(key: string, known: string[]): string | undefined {
  const k = key.toLowerCase();
  return known.find((n) => n.toLowerCase() === k || `${n.toLowerCase()}s` === k);
}

function unknownKeyNote(key: string, known: string[], elsewhere: string[], elsewhereNote: string): string {
  const meant = nearMiss(key, known);
  if (meant === 'readonly')
    return ` (did you mean "readonly"? keys are case-sensitive); as written, the line is not read-only`;
  if (meant) return ` (did you mean "${meant}"? keys are case-sensitive)`;
  return elsewhere.includes(key) ? elsewhereNote : '';
}

/** Reads one line's fields, recording what is wrong with them. */
class LineReader {
  failed = false;

  constructor(
    readonly line: number,
    private readonly out: ParsedPolicy,
  ) {}

  error(message: string, fix: string): void {
    this.failed = true;
    this.out.errors.push({ line: this.line, message, fix });
  }

  warn(message: string, unknownKey = false): void {
    this.out.warnings.push(unknownKey ? { line: this.line, message, unknownKey } : { line: this.line, message });
  }

  /** A string field; absent is "". Surrounding spaces are trimmed, with a warning. */
  text(obj: Json, key: string, prefix: string): string {
    const v = obj[key];
    if (v === undefined) return '';
    if (typeof v !== 'string') {
      const example = `"${prefix}${key}": "${EXAMPLES[key] ?? 'name'}"`;
      const fix =
        v === null
          ? `give a string (${example}) or leave "${prefix}${key}" out: null is refused, as upstream reads it as absent, which widens a line`
          : `give one string in double quotes (${example}); for several, write one line for each`;
      this.error(`"${prefix}${key}" must be a string, got ${describe(v)}`, fix);
      return '';
    }
    const trimmed = v.trim();
    if (v !== trimmed)
      this.warn(`"${prefix}${key}" value ${JSON.stringify(v)} has surrounding spaces; using "${trimmed}"`);
    return trimmed;
  }

  /** `readonly`: only the JSON booleans. A quoted "true" must never leave the line read-write. */
  flag(obj: Json, key: string, prefix: string): boolean {
    const v = obj[key];
    if (v === undefined || typeof v === 'boolean') return v === true;
    this.error(
      `"${prefix}${key}" must be true or false (a JSON boolean), got ${describe(v)}`,
      `write "${key}": true without quotes for a read-only line, or leave "${key}" out for read-write`,
    );
    return false;
  }

  /** Warns about every key upstream would ignore, naming the key the writer probably meant. */
  unknownKeys(obj: Json, known: string[], prefix: string, elsewhere: string[] = [], elsewhereNote = ''): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key) || key === 'ns') continue;
      this.warn(`unknown key "${prefix}${key}" ignored${unknownKeyNote(key, known, elsewhere, elsewhereNote)}`, true);
    }
  }

  /**
   * The seed's "ns": read as "namespace" (upstream never read it; `whatUpstreamDid` says what that
   * meant), unless "namespace" is given too.
   */
  namespace(obj: Json, prefix: string, whatUpstreamDid: string): string {
    if (!('ns' in obj)) return this.text(obj, 'namespace', prefix);
    if ('namespace' in obj) {
      this.warn(`unknown key "${prefix}ns" ignored: "${prefix}namespace" is given too`, true);
      return this.text(obj, 'namespace', prefix);
    }
    this.warn(
      `key "${prefix}ns" read as "${prefix}namespace"; upstream Kubernetes never read "ns" and ${whatUpstreamDid}`,
    );
    return this.text(obj, 'ns', prefix);
  }
}

/** Upstream's conversion of an unversioned (v0) line: empty fields widen to "*". */
function legacyRule(obj: Json, r: LineReader, source: string): PolicyRule {
  const known = 'apiVersion' in obj ? [...LEGACY_KEYS, 'apiVersion', 'kind'] : LEGACY_KEYS;
  r.unknownKeys(obj, known, '', SPEC_KEYS, `: only ${V1BETA1} Policy lines know it`);
  const user = r.text(obj, 'user', '');
  const group = r.text(obj, 'group', '');
  const resource = r.text(obj, 'resource', '');
  const namespace = r.namespace(obj, '', 'would have applied this line to every namespace');
  return {
    line: r.line,
    source,
    // In v0, a line naming neither user nor group applies to everyone.
    user,
    group: !user && !group ? '*' : group,
    readonly: r.flag(obj, 'readonly', ''),
    apiGroup: '*',
    resource: resource || '*',
    namespace: namespace || '*',
    // In v0, a line without a resource also covers non-resource paths.
    nonResourcePath: resource ? '' : '*',
  };
}

function v1beta1Rule(obj: Json, r: LineReader, source: string): PolicyRule | undefined {
  r.unknownKeys(obj, ['apiVersion', 'kind', 'spec'], '');
  const spec = obj.spec ?? {};
  if (!isObject(spec)) {
    r.error(
      `"spec" must be an object, got ${describe(spec)}`,
      'write "spec" as an object, e.g. "spec": {"user": "bob", "namespace": "*", "resource": "pods"}',
    );
    return undefined;
  }
  r.unknownKeys(spec, SPEC_KEYS, 'spec.');
  return {
    line: r.line,
    source,
    user: r.text(spec, 'user', 'spec.'),
    group: r.text(spec, 'group', 'spec.'),
    readonly: r.flag(spec, 'readonly', 'spec.'),
    apiGroup: r.text(spec, 'apiGroup', 'spec.'),
    resource: r.text(spec, 'resource', 'spec.'),
    namespace: r.namespace(spec, 'spec.', 'would have left namespace empty'),
    nonResourcePath: r.text(spec, 'nonResourcePath', 'spec.'),
  };
}

/** The line's format from apiVersion and kind, or an error. */
function lineFormat(obj: Json, r: LineReader): 'legacy' | 'v1beta1' | undefined {
  const { apiVersion, kind } = obj;
  // Upstream reads an empty apiVersion as none: the unversioned format.
  if (apiVersion === undefined || apiVersion === '') return 'legacy';
  if (typeof apiVersion !== 'string') {
    r.error(`"apiVersion" must be a string, got ${describe(apiVersion)}`, `write "apiVersion": "${V1BETA1}"`);
    return undefined;
  }
  if (apiVersion !== V1BETA1 && apiVersion !== V0) {
    r.error(
      `unknown apiVersion ${describe(apiVersion)}`,
      `write "apiVersion": "${V1BETA1}", "kind": "Policy", or leave both out for an unversioned line`,
    );
    return undefined;
  }
  if (kind !== 'Policy') {
    r.error(`kind must be "Policy" for apiVersion ${apiVersion}, got ${describe(kind)}`, 'write "kind": "Policy"');
    return undefined;
  }
  return apiVersion === V1BETA1 ? 'v1beta1' : 'legacy';
}

function parseLine(source: string, r: LineReader): PolicyRule | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(source);
  } catch (err) {
    r.error(
      `not valid JSON: ${(err as Error).message}`,
      'write one JSON object per line, keys and strings in double quotes, e.g. {"user": "bob", "resource": "pods", "readonly": true}',
    );
    return undefined;
  }
  if (!isObject(obj)) {
    r.error(`not a JSON object, got ${describe(obj)}`, 'write one JSON object per line, e.g. {"user": "bob"}');
    return undefined;
  }
  const format = lineFormat(obj, r);
  if (!format) return undefined;
  return format === 'legacy' ? legacyRule(obj, r, source) : v1beta1Rule(obj, r, source);
}

export function parsePolicy(content: string): ParsedPolicy {
  const out: ParsedPolicy = { rules: [], warnings: [], errors: [] };
  content.split('\n').forEach((raw, i) => {
    const source = raw.trim();
    if (source === '' || source.startsWith('#')) return;
    const reader = new LineReader(i + 1, out);
    const rule = parseLine(source, reader);
    if (rule && !reader.failed) out.rules.push(rule);
  });
  return out;
}
