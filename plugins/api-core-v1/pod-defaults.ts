/**
 * Pod defaulting, after upstream's SetDefaults_PodSpec / SetDefaults_Container / SetDefaults_Pod.
 * Upstream defaults every decoded object, so these run on create and on every update: a PUT that
 * leaves a default out must not look like a change of that field.
 */
import { ensureObj, isObj, type Obj, objList } from './field.js';
import { parseQuantity } from './quantity.js';

/** Always for `:latest` or an untagged image, else IfNotPresent (upstream's parsers.ParseImageName). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  const [withoutDigest, digest] = image.split('@', 2);
  const lastSegment = (withoutDigest ?? '').split('/').pop() ?? '';
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : digest !== undefined ? '' : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Upstream's SetDefaults_HTTPGetAction, for probes and lifecycle hooks alike. */
function defaultHandler(handler: unknown): void {
  if (!isObj(handler)) return;
  if (isObj(handler.httpGet)) {
    handler.httpGet.path ??= '/';
    handler.httpGet.scheme ??= 'HTTP';
  }
  if (isObj(handler.grpc)) handler.grpc.service ??= '';
}

/** Upstream's SetDefaults_Probe. */
function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  defaultHandler(probe);
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (typeof c.image === 'string' && c.image) c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.resources ??= {};
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) defaultProbe(probe);
  const lifecycle = isObj(c.lifecycle) ? c.lifecycle : {};
  defaultHandler(lifecycle.postStart);
  defaultHandler(lifecycle.preStop);
  for (const port of objList(c.ports)) {
    port.protocol ??= 'TCP';
    if (hostNetwork && port.hostPort === undefined) port.hostPort = port.containerPort;
  }
  for (const env of objList(c.env)) {
    const fieldRef = isObj(env.valueFrom) ? env.valueFrom.fieldRef : undefined;
    if (isObj(fieldRef)) fieldRef.apiVersion ??= 'v1';
  }
}

// 0644: upstream's default mode of secret, configMap, downwardAPI and projected volumes.
const DEFAULT_MODE = 0o644;

/** Downward API items name a field of the v1 pod unless they say otherwise. */
function defaultDownwardItems(source: unknown): void {
  if (!isObj(source)) return;
  for (const item of objList(source.items)) if (isObj(item.fieldRef)) item.fieldRef.apiVersion ??= 'v1';
}

/** Upstream's volume-source defaults: file modes, token lifetime, hostPath type, emptyDir. */
function defaultVolume(v: Obj): void {
  // A volume naming no source is an emptyDir, as upstream defaults it.
  if (Object.keys(v).every((k) => k === 'name')) v.emptyDir = {};
  for (const kind of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (isObj(v[kind])) v[kind].defaultMode ??= DEFAULT_MODE;
  }
  defaultDownwardItems(v.downwardAPI);
  if (isObj(v.hostPath)) v.hostPath.type ??= '';
  if (!isObj(v.projected)) return;
  for (const source of objList(v.projected.sources)) {
    if (isObj(source.serviceAccountToken)) source.serviceAccountToken.expirationSeconds ??= 3600;
    defaultDownwardItems(source.downwardAPI);
  }
}

/**
 * serviceAccount is the deprecated twin of serviceAccountName: upstream fills the name from it when
 * only it is set, and always writes it back as a copy of the name (the v1 conversion).
 */
export function mirrorServiceAccount(spec: Obj): void {
  if (!spec.serviceAccountName && typeof spec.serviceAccount === 'string' && spec.serviceAccount) {
    spec.serviceAccountName = spec.serviceAccount;
  }
  if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName) {
    spec.serviceAccount = spec.serviceAccountName;
  } else delete spec.serviceAccount;
}

/** Spec-level defaults shared by pods and pod templates. */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...objList(spec.containers), ...objList(spec.initContainers)]) defaultContainer(c, hostNetwork);
  for (const v of objList(spec.volumes)) defaultVolume(v);
  mirrorServiceAccount(spec);
}

/** Limits without requests count as requests too: what makes a pod with only limits Guaranteed. */
function defaultRequestsFromLimits(c: Obj): void {
  const resources = isObj(c.resources) ? c.resources : undefined;
  if (!resources || !isObj(resources.limits)) return;
  const requests = ensureObj(resources, 'requests');
  if (!requests) return;
  for (const [name, limit] of Object.entries(resources.limits)) requests[name] ??= limit;
  if (Object.keys(requests).length === 0) delete resources.requests;
}

/** Pod-only defaults (templates do not get these). */
export function defaultPod(pod: Obj): void {
  const spec = pod.spec;
  if (!isObj(spec)) return;
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  // No priority or preemptionPolicy here: upstream leaves them to the Priority admission plugin
  // (admission-priority), which runs after defaulting and refuses a pod whose priority differs from
  // its class's, so a default here would refuse every pod naming a class.
  for (const c of [...objList(spec.containers), ...objList(spec.initContainers)]) defaultRequestsFromLimits(c);
}

type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';
const QOS_RESOURCES = ['cpu', 'memory'];

/** Adds a resource list's cpu and memory into `into` (module-level: no closure made per pod). */
function addQosResources(into: Map<string, bigint>, list: unknown, found?: Set<string>): void {
  if (!isObj(list)) return;
  for (const [name, value] of Object.entries(list)) {
    const q = parseQuantity(value);
    if (!QOS_RESOURCES.includes(name) || q === undefined || q <= 0n) continue;
    into.set(name, (into.get(name) ?? 0n) + q);
    found?.add(name);
  }
}

/** Upstream's ComputePodQOS over containers and init containers, cpu and memory only. */
export function computeQosClass(spec: Obj): QosClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of [...objList(spec.containers), ...objList(spec.initContainers)]) {
    const resources = isObj(c.resources) ? c.resources : {};
    addQosResources(requests, resources.requests);
    const found = new Set<string>();
    addQosResources(limits, resources.limits, found);
    if (!QOS_RESOURCES.every((r) => found.has(r))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) if (limits.get(name) !== req) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
