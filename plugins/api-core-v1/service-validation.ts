/**
 * Service defaulting and validation (upstream's SetDefaults_Service and ValidateService), for a
 * single-stack IPv4 cluster. Allocation of cluster IPs and node ports lives in services.ts.
 */
import { isIPv4 } from 'node:net';
import type { FieldError, KubeObject } from 'skiff/sdk/api';
import {
  checkEnum,
  duplicate,
  ensureObj,
  forbidden,
  invalid,
  isInt,
  isObj,
  listOf,
  type Obj,
  objList,
  objOf,
  rangeError,
  required,
  typeInvalid,
} from './field.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  ipErrors,
  labelMapErrors,
  nameAt,
  portNameErrors,
} from './names.js';
import { PROTOCOLS, portNumberErrors } from './pod-validation.js';

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

export const specOfService = (svc: KubeObject): Obj => objOf(svc.spec);
export const needsClusterIP = (svc: KubeObject): boolean => specOfService(svc).type !== 'ExternalName';
export const needsNodePorts = (svc: KubeObject): boolean => {
  const spec = specOfService(svc);
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
};

/** clusterIP and clusterIPs say the same thing; whichever the client set fills the other. */
export function mirrorClusterIPs(spec: Obj): void {
  const ips = listOf(spec.clusterIPs);
  if (typeof spec.clusterIP === 'string' && spec.clusterIP && ips.length === 0) spec.clusterIPs = [spec.clusterIP];
  else if (!spec.clusterIP && typeof ips[0] === 'string') spec.clusterIP = ips[0];
}

/**
 * Upstream's initIPFamilyFields: the address families are the allocator's to set (REST create and
 * update), not defaults, so the writer of a Service does not own them in managedFields.
 */
export function initIPFamilyFields(svc: KubeObject): void {
  const spec = svc.spec;
  if (!isObj(spec) || spec.type === 'ExternalName') return;
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.ipFamilies ??= ['IPv4'];
}

export function defaultService(svc: KubeObject): void {
  const spec = svc.spec;
  if (!isObj(spec)) return;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    const clientIP = ensureObj(ensureObj(spec, 'sessionAffinityConfig') ?? {}, 'clientIP');
    if (clientIP) clientIP.timeoutSeconds ??= 10800;
  }
  for (const port of objList(spec.ports)) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port;
  }
  mirrorClusterIPs(spec);
  if (spec.type === 'ExternalName') return;
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
}

function targetPortErrors(v: unknown, field: string): FieldError[] {
  if (typeof v === 'string') return v ? nameAt(field, v, portNameErrors) : [required(field)];
  return portNumberErrors(v, field);
}

function validatePorts(spec: Obj, headless: boolean): FieldError[] {
  const ports = listOf(spec.ports);
  if (spec.ports !== undefined && !Array.isArray(spec.ports))
    return [typeInvalid('spec.ports', spec.ports, 'must be a list')];
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') return [required('spec.ports')];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  ports.forEach((raw, i) => {
    const at = `spec.ports[${i}]`;
    const p = objOf(raw);
    if (ports.length > 1 || (p.name !== undefined && p.name !== ''))
      errs.push(...nameAt(`${at}.name`, p.name, dns1123LabelErrors));
    if (typeof p.name === 'string' && p.name && names.has(p.name)) errs.push(duplicate(`${at}.name`, p.name));
    if (typeof p.name === 'string') names.add(p.name);
    errs.push(...portNumberErrors(p.port, `${at}.port`));
    errs.push(...checkEnum(p.protocol, `${at}.protocol`, PROTOCOLS, true));
    errs.push(...targetPortErrors(p.targetPort, `${at}.targetPort`));
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (!external) errs.push(forbidden(`${at}.nodePort`, `may not be used when \`type\` is '${String(spec.type)}'`));
      else errs.push(...portNumberErrors(p.nodePort, `${at}.nodePort`));
    }
    const key = `${String(p.port)}/${String(p.protocol)}`;
    if (keys.has(key)) errs.push(duplicate(at, { port: p.port, protocol: p.protocol }));
    keys.add(key);
  });
  return errs;
}

function validateClusterIPs(spec: Obj): FieldError[] {
  if (spec.type === 'ExternalName') {
    return spec.clusterIP ? [forbidden('spec.clusterIP', 'may not be set for ExternalName services')] : [];
  }
  const errs: FieldError[] = [];
  const ips = listOf(spec.clusterIPs);
  if (ips.length > 1) errs.push(invalid('spec.clusterIPs', ips, 'may only hold one address on a single-stack cluster'));
  ips.forEach((ip, i) => {
    if (ip !== 'None' && (typeof ip !== 'string' || !isIPv4(ip))) {
      errs.push(invalid(`spec.clusterIPs[${i}]`, ip, "must be empty, 'None', or a valid IP address"));
    }
  });
  if (spec.clusterIP && ips.length && ips[0] !== spec.clusterIP) {
    errs.push(invalid('spec.clusterIPs', ips, 'first value must match `clusterIP`'));
  }
  return errs;
}

function validateFamilies(spec: Obj): FieldError[] {
  const errs = checkEnum(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy', IP_FAMILY_POLICIES);
  if (spec.ipFamilyPolicy === 'RequireDualStack') {
    errs.push(
      invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services'),
    );
  }
  listOf(spec.ipFamilies).forEach((f, i) => {
    if (f === 'IPv4') return;
    if (f === 'IPv6') errs.push(invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
    else errs.push(...checkEnum(f, `spec.ipFamilies[${i}]`, ['IPv4', 'IPv6']));
  });
  return errs;
}

function validateAffinity(spec: Obj): FieldError[] {
  const errs = checkEnum(spec.sessionAffinity, 'spec.sessionAffinity', ['ClientIP', 'None'], true);
  const timeout = objOf(objOf(spec.sessionAffinityConfig).clientIP).timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP' && (!isInt(timeout) || timeout < 1 || timeout > 86400)) {
    errs.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, rangeError(1, 86400)));
  }
  return errs;
}

export function validateServiceSpec(svc: KubeObject): FieldError[] {
  if (!isObj(svc.spec))
    return [svc.spec === undefined ? required('spec') : typeInvalid('spec', svc.spec, 'must be an object')];
  const spec = svc.spec;
  const errs = checkEnum(spec.type, 'spec.type', SERVICE_TYPES, true);
  if (spec.type === 'ExternalName')
    errs.push(...nameAt('spec.externalName', spec.externalName, dns1123SubdomainErrors));
  errs.push(...validatePorts(spec, spec.clusterIP === 'None'));
  errs.push(...validateClusterIPs(spec));
  errs.push(...validateFamilies(spec));
  errs.push(...validateAffinity(spec));
  errs.push(...labelMapErrors(spec.selector, 'spec.selector'));
  errs.push(...checkEnum(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', TRAFFIC_POLICIES));
  errs.push(...checkEnum(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', TRAFFIC_POLICIES));
  listOf(spec.externalIPs).forEach((ip, i) => {
    errs.push(
      ...(typeof ip === 'string'
        ? ipErrors(ip).map((m) => invalid(`spec.externalIPs[${i}]`, ip, m))
        : [typeInvalid(`spec.externalIPs[${i}]`, ip, 'must be a string')]),
    );
  });
  return errs;
}

export function validateClusterIPUpdate(svc: KubeObject, old: KubeObject): FieldError[] {
  if (!needsClusterIP(svc) || !needsClusterIP(old)) return [];
  const before = listOf(specOfService(old).clusterIPs)[0] ?? specOfService(old).clusterIP;
  const ips = listOf(specOfService(svc).clusterIPs);
  const now = ips[0] ?? specOfService(svc).clusterIP;
  return before && now !== before ? [invalid('spec.clusterIPs[0]', ips, 'may not change once set')] : [];
}
