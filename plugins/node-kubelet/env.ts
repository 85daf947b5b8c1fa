/**
 * A container's environment as upstream's kubelet makes it (kubelet_pods.go makeEnvironmentVariables):
 * the services' variables of the pod's namespace (enableServiceLinks) and the kubernetes service's,
 * then envFrom (ConfigMaps and Secrets, with prefix), then env in order, each value with `$(VAR)`
 * references to earlier variables expanded; valueFrom reads the downward API, ConfigMaps and
 * Secrets. Command and args are expanded with the result. A missing ConfigMap or Secret (not
 * optional) is a CreateContainerConfigError with upstream's message.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import type { KeyValue } from 'skiff/sdk/runtime';
import type { KubeletContext } from './context.js';
import { DownwardError, fieldValue, resourceValue } from './downward.js';
import { fetchObject } from './volumes.js';

/** Why a container's config could not be made: its waiting reason is CreateContainerConfigError. */
export class ConfigError extends Error {}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Upstream's expansion: $(VAR) → its value when defined, $$ → $, anything else stays. */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && vars.has(name) ? vars.get(name)! : whole;
  });
}

type Data = Map<string, string>;

function decoded(obj: KubeObject, secret: boolean): Data {
  const data = new Map<string, string>();
  for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
    data.set(k, secret ? Buffer.from(v, 'base64').toString('utf8') : v);
  }
  return data;
}

/** ConfigMaps and Secrets read once per container start. */
class Sources {
  private readonly cache = new Map<string, Data | undefined>();
  constructor(
    private readonly ctx: KubeletContext,
    private readonly pod: Pod,
  ) {}

  async get(kind: 'configmaps' | 'secrets', name: string, optional: boolean | undefined): Promise<Data | undefined> {
    const key = `${kind}/${name}`;
    if (!this.cache.has(key)) {
      const obj = await fetchObject(this.ctx, this.pod, kind, name);
      this.cache.set(key, obj && decoded(obj, kind === 'secrets'));
    }
    const data = this.cache.get(key);
    if (!data && !optional) throw new ConfigError(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
    return data;
  }
}

/** docker links-style variables of a service (upstream's envvars.FromServices). */
function serviceVariables(service: KubeObject): KeyValue[] {
  const spec = (service.spec ?? {}) as {
    clusterIP?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
  if (!spec.clusterIP || spec.clusterIP === 'None') return [];
  const prefix = (service.metadata.name ?? '').toUpperCase().replace(/-/g, '_');
  const ports = spec.ports ?? [];
  if (!ports.length) return [];
  const out: KeyValue[] = [
    { name: `${prefix}_SERVICE_HOST`, value: spec.clusterIP },
    { name: `${prefix}_SERVICE_PORT`, value: String(ports[0]!.port) },
  ];
  for (const p of ports) {
    if (p.name)
      out.push({ name: `${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, value: String(p.port) });
  }
  const first = ports[0]!;
  const proto = (first.protocol ?? 'TCP').toLowerCase();
  out.push({ name: `${prefix}_PORT`, value: `${proto}://${spec.clusterIP}:${first.port}` });
  for (const p of ports) {
    const protocol = p.protocol ?? 'TCP';
    const base = `${prefix}_PORT_${p.port}_${protocol}`;
    out.push(
      { name: base, value: `${protocol.toLowerCase()}://${spec.clusterIP}:${p.port}` },
      { name: `${base}_PROTO`, value: protocol.toLowerCase() },
      { name: `${base}_PORT`, value: String(p.port) },
      { name: `${base}_ADDR`, value: spec.clusterIP },
    );
  }
  return out;
}

export interface ContainerEnv {
  env: KeyValue[];
  command?: string[];
  args?: string[];
}

export async function containerEnv(
  ctx: KubeletContext,
  pod: Pod,
  container: Container,
  podIP: string,
): Promise<ContainerEnv> {
  const vars = new Map<string, string>();
  const services =
    pod.spec?.enableServiceLinks === false
      ? ctx
          .services(pod.metadata?.namespace ?? 'default')
          .filter((s) => s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes')
      : ctx.services(pod.metadata?.namespace ?? 'default');
  for (const service of services) for (const v of serviceVariables(service)) vars.set(v.name, v.value);
  const sources = new Sources(ctx, pod);
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'configmaps' : 'secrets';
    const data = ref ? await sources.get(kind, ref.name ?? '', ref.optional) : undefined;
    for (const [k, v] of data ?? []) {
      const name = `${from.prefix ?? ''}${k}`;
      if (ENV_NAME.test(name)) vars.set(name, v);
    }
  }
  for (const e of container.env ?? []) {
    const value = e.valueFrom
      ? await valueFrom(ctx, pod, container, e.valueFrom, sources, podIP)
      : expand(e.value ?? '', vars);
    if (value !== undefined) vars.set(e.name, value);
  }
  return {
    env: [...vars].map(([name, value]) => ({ name, value })),
    command: container.command?.map((c) => expand(c, vars)),
    args: container.args?.map((a) => expand(a, vars)),
  };
}

async function valueFrom(
  ctx: KubeletContext,
  pod: Pod,
  container: Container,
  from: NonNullable<NonNullable<Container['env']>[number]['valueFrom']>,
  sources: Sources,
  podIP: string,
): Promise<string | undefined> {
  try {
    if (from.fieldRef) return fieldValue(pod, from.fieldRef, { podIP, hostIP: ctx.nodeIP() });
    if (from.resourceFieldRef) return resourceValue(ctx, pod, from.resourceFieldRef, container);
  } catch (err) {
    if (err instanceof DownwardError) throw new ConfigError(err.message);
    throw err;
  }
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (!ref) return undefined;
  const secret = Boolean(from.secretKeyRef);
  const data = await sources.get(secret ? 'secrets' : 'configmaps', ref.name ?? '', ref.optional);
  if (!data) return undefined;
  const value = data.get(ref.key);
  if (value === undefined && !ref.optional) {
    const namespace = pod.metadata?.namespace ?? 'default';
    throw new ConfigError(
      `couldn't find key ${ref.key} in ${secret ? 'Secret' : 'ConfigMap'} ${namespace}/${ref.name}`,
    );
  }
  return value;
}
