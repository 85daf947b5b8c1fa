/**
 * The KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1), read as upstream writes
 * it: decoded strictly (an unknown field is an error, as upstream's strict decoding), defaulted as
 * upstream's v1 defaults, validated as ValidateKubeSchedulerConfiguration. Profiles are turned into
 * frameworks in profiles.ts.
 */
import { readFileSync } from 'node:fs';
import { SkiffError } from 'skiff/sdk';
import { parse as parseYaml } from 'yaml';
import { checkShape, durationSeconds } from './shape.js';

export const API_VERSION = 'kubescheduler.config.k8s.io/v1';
export const KIND = 'KubeSchedulerConfiguration';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface PluginRef {
  name: string;
  weight?: number;
}

export interface PluginSet {
  enabled: PluginRef[];
  disabled: PluginRef[];
}

export interface ProfileConfig {
  schedulerName: string;
  percentageOfNodesToScore?: number;
  /** Extension point (preFilter, ..., multiPoint) → its set, as the file gives it. */
  plugins: Record<string, PluginSet>;
  pluginConfig: { name: string; args: Record<string, unknown> }[];
}

export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  resourceLock: string;
  resourceName: string;
  resourceNamespace: string;
}

export interface SchedulerConfiguration {
  /** Where it came from (a path, or "(defaults)"). */
  source: string;
  parallelism: number;
  /** 0: upstream's adaptive default. */
  percentageOfNodesToScore: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  leaderElection: LeaderElectionConfig;
  clientConnection: { kubeconfig?: string };
  profiles: ProfileConfig[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

export function invalidConfig(source: string, problems: string[]): SkiffError {
  return new SkiffError(
    'SKIFF_SCHEDULER_CONFIG_INVALID',
    `${source}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
    'correct the KubeSchedulerConfiguration (see plugins/scheduler-default/README.md for what is accepted)',
  );
}

function pluginSet(v: unknown): PluginSet {
  const s = obj(v);
  const refs = (list: unknown): PluginRef[] =>
    (Array.isArray(list) ? list : []).map((p) => {
      const o = obj(p);
      return o.weight === undefined ? { name: String(o.name) } : { name: String(o.name), weight: Number(o.weight) };
    });
  return { enabled: refs(s.enabled), disabled: refs(s.disabled) };
}

function profile(v: unknown): ProfileConfig {
  const p = obj(v);
  const plugins: Record<string, PluginSet> = {};
  for (const [point, set] of Object.entries(obj(p.plugins))) plugins[point] = pluginSet(set);
  return {
    schedulerName: p.schedulerName === undefined ? DEFAULT_SCHEDULER_NAME : String(p.schedulerName),
    percentageOfNodesToScore:
      p.percentageOfNodesToScore === undefined || p.percentageOfNodesToScore === null
        ? undefined
        : Number(p.percentageOfNodesToScore),
    plugins,
    pluginConfig: (Array.isArray(p.pluginConfig) ? p.pluginConfig : []).map((c) => ({
      name: String(obj(c).name),
      args: obj(obj(c).args),
    })),
  };
}

function leaderElection(v: unknown): LeaderElectionConfig {
  const le = obj(v);
  return {
    leaderElect: le.leaderElect === undefined ? true : le.leaderElect === true,
    leaseDuration: le.leaseDuration === undefined ? 15 : durationSeconds(le.leaseDuration),
    renewDeadline: le.renewDeadline === undefined ? 10 : durationSeconds(le.renewDeadline),
    retryPeriod: le.retryPeriod === undefined ? 2 : durationSeconds(le.retryPeriod),
    resourceLock: String(le.resourceLock ?? 'leases'),
    resourceName: String(le.resourceName ?? 'kube-scheduler'),
    resourceNamespace: String(le.resourceNamespace ?? 'kube-system'),
  };
}

/** Upstream's v1 defaults over what the document gives (already checked by checkShape). */
function defaulted(doc: Obj, source: string): SchedulerConfiguration {
  const profiles = Array.isArray(doc.profiles) && doc.profiles.length ? doc.profiles.map(profile) : [profile({})];
  const kubeconfig = obj(doc.clientConnection).kubeconfig;
  return {
    source,
    parallelism: doc.parallelism === undefined ? 16 : Number(doc.parallelism),
    percentageOfNodesToScore:
      doc.percentageOfNodesToScore === undefined || doc.percentageOfNodesToScore === null
        ? 0
        : Number(doc.percentageOfNodesToScore),
    podInitialBackoffSeconds: doc.podInitialBackoffSeconds === undefined ? 1 : Number(doc.podInitialBackoffSeconds),
    podMaxBackoffSeconds: doc.podMaxBackoffSeconds === undefined ? 10 : Number(doc.podMaxBackoffSeconds),
    leaderElection: leaderElection(doc.leaderElection),
    clientConnection: typeof kubeconfig === 'string' && kubeconfig ? { kubeconfig } : {},
    profiles,
  };
}

/** Upstream's ValidateKubeSchedulerConfiguration, for the top level and the profiles' own fields. */
function validate(c: SchedulerConfiguration): string[] {
  const errs: string[] = [];
  if (!(Number.isInteger(c.parallelism) && c.parallelism > 0))
    errs.push(`parallelism: Invalid value: ${c.parallelism}: should be an integer value greater than zero`);
  const pct = (v: number, at: string) => {
    if (!(v >= 0 && v <= 100)) errs.push(`${at}: Invalid value: ${v}: not in valid range [0-100]`);
  };
  pct(c.percentageOfNodesToScore, 'percentageOfNodesToScore');
  if (!(c.podInitialBackoffSeconds > 0))
    errs.push(`podInitialBackoffSeconds: Invalid value: ${c.podInitialBackoffSeconds}: must be greater than 0`);
  if (!(c.podMaxBackoffSeconds >= c.podInitialBackoffSeconds)) {
    errs.push(
      `podMaxBackoffSeconds: Invalid value: ${c.podMaxBackoffSeconds}: must be greater than or equal to PodInitialBackoffSeconds`,
    );
  }
  const le = c.leaderElection;
  if (le.leaderElect) {
    if (!(le.leaseDuration > le.renewDeadline))
      errs.push(
        `leaderElection.leaseDuration: Invalid value: "${le.leaseDuration}s": LeaseDuration must be greater than RenewDeadline`,
      );
    if (!(le.renewDeadline > le.retryPeriod))
      errs.push(
        `leaderElection.renewDeadline: Invalid value: "${le.renewDeadline}s": RenewDeadline must be greater than RetryPeriod`,
      );
    if (!(le.retryPeriod > 0))
      errs.push(`leaderElection.retryPeriod: Invalid value: "${le.retryPeriod}s": must be greater than zero`);
    if (le.resourceLock !== 'leases')
      errs.push(`leaderElection.resourceLock: Unsupported value: "${le.resourceLock}": supported values: "leases"`);
    if (!le.resourceName) errs.push('leaderElection.resourceName: Invalid value: "": resourceName is required');
  }
  const names = new Set<string>();
  c.profiles.forEach((p, i) => {
    if (!p.schedulerName) errs.push(`profiles[${i}].schedulerName: Required value`);
    else if (names.has(p.schedulerName))
      errs.push(`profiles[${i}].schedulerName: Duplicate value: "${p.schedulerName}"`);
    names.add(p.schedulerName);
    if (p.percentageOfNodesToScore !== undefined)
      pct(p.percentageOfNodesToScore, `profiles[${i}].percentageOfNodesToScore`);
    const seen = new Set<string>();
    p.pluginConfig.forEach((pc, j) => {
      if (seen.has(pc.name)) errs.push(`profiles[${i}].pluginConfig[${j}]: Duplicate value: "${pc.name}"`);
      seen.add(pc.name);
    });
  });
  return errs;
}

/** Parses and validates a configuration object (a decoded file). */
export function schedulerConfigurationFrom(doc: unknown, source: string): SchedulerConfiguration {
  const d = obj(doc);
  const problems = checkShape(d);
  if (problems.length) throw invalidConfig(source, problems);
  if (d.apiVersion !== API_VERSION || d.kind !== KIND) {
    throw new SkiffError(
      'SKIFF_SCHEDULER_CONFIG_VERSION',
      `${source}: apiVersion ${JSON.stringify(d.apiVersion ?? '')}, kind ${JSON.stringify(d.kind ?? '')}: not a ${KIND} of ${API_VERSION} (the only version upstream 1.32 reads)`,
      `start the file with apiVersion: ${API_VERSION} and kind: ${KIND} (v1beta2/v1beta3 files need the v1 field names)`,
    );
  }
  const config = defaulted(d, source);
  const errs = validate(config);
  if (errs.length) throw invalidConfig(source, errs);
  return config;
}

/** Reads `--config FILE`; without a file, upstream's defaults (one profile, default-scheduler). */
export function loadSchedulerConfiguration(file?: string): SchedulerConfiguration {
  if (!file) return schedulerConfigurationFrom({ apiVersion: API_VERSION, kind: KIND }, '(defaults)');
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SkiffError(
      'SKIFF_SCHEDULER_CONFIG_READ',
      `cannot read the scheduler configuration ${file}: ${(err as Error).message.split('\n')[0]}`,
      'give --config an existing, readable KubeSchedulerConfiguration YAML or JSON file',
    );
  }
  return schedulerConfigurationFrom(doc, file);
}
