/**
 * PodSpec validation (pods and the templates of replication controllers), after upstream's
 * ValidatePodSpec: the checks users actually trip over, with upstream's field paths and messages.
 */
import type { FieldError } from 'skiff/sdk/api';
import {
  checkEnum,
  checkNonNegativeInt,
  checkString,
  duplicate,
  invalid,
  isInt,
  isObj,
  type Obj,
  rangeError,
  required,
  typeInvalid,
} from './field.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, nameAt, portNameErrors, qualifiedNameErrors } from './names.js';
import { parseQuantity, resourceListErrors } from './quantity.js';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** A required port number in 1..65535. */
export function portNumberErrors(v: unknown, field: string, requiredValue = true): FieldError[] {
  if (v === undefined || v === null || v === 0) return requiredValue ? [required(field)] : [];
  if (!isInt(v)) return [typeInvalid(field, v, 'must be an integer')];
  return v < 1 || v > 65535 ? [invalid(field, v, rangeError(1, 65535))] : [];
}

/** A list field: a type error when present but not a list. */
function listAt(v: unknown, field: string, errs: FieldError[]): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errs.push(typeInvalid(field, v, 'must be a list'));
    return [];
  }
  return v.map((item, i) => {
    if (isObj(item)) return item;
    errs.push(typeInvalid(`${field}[${i}]`, item, 'must be an object'));
    return {};
  });
}

function validatePorts(ports: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  listAt(ports, path, errs).forEach((p, i) => {
    const at = `${path}[${i}]`;
    if (p.name !== undefined && p.name !== '') {
      errs.push(...nameAt(`${at}.name`, p.name, portNameErrors));
      if (typeof p.name === 'string' && names.has(p.name)) errs.push(duplicate(`${at}.name`, p.name));
      if (typeof p.name === 'string') names.add(p.name);
    }
    errs.push(...portNumberErrors(p.containerPort, `${at}.containerPort`));
    errs.push(...portNumberErrors(p.hostPort, `${at}.hostPort`, false));
    errs.push(...checkEnum(p.protocol, `${at}.protocol`, PROTOCOLS, true));
  });
  return errs;
}

function validateResources(resources: unknown, path: string): FieldError[] {
  if (resources === undefined || resources === null) return [];
  if (!isObj(resources)) return [typeInvalid(path, resources, 'must be an object')];
  const errs = [
    ...resourceListErrors(resources.limits, `${path}.limits`),
    ...resourceListErrors(resources.requests, `${path}.requests`),
  ];
  if (errs.length || !isObj(resources.requests) || !isObj(resources.limits)) return errs;
  for (const [name, request] of Object.entries(resources.requests)) {
    const limit = resources.limits[name];
    if (limit === undefined) continue;
    if ((parseQuantity(request) ?? 0n) > (parseQuantity(limit) ?? 0n)) {
      errs.push(invalid(`${path}.requests`, request, `must be less than or equal to ${name} limit of ${limit}`));
    }
  }
  return errs;
}

function validateEnvAndMounts(c: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  listAt(c.env, `${path}.env`, errs).forEach((e, i) => {
    if (!e.name) errs.push(required(`${path}.env[${i}].name`));
    else errs.push(...checkString(e.name, `${path}.env[${i}].name`));
  });
  listAt(c.volumeMounts, `${path}.volumeMounts`, errs).forEach((m, i) => {
    if (!m.name) errs.push(required(`${path}.volumeMounts[${i}].name`));
    if (!m.mountPath) errs.push(required(`${path}.volumeMounts[${i}].mountPath`));
  });
  return errs;
}

function validateContainer(c: Obj, path: string, seen: Set<string>): FieldError[] {
  const errs = nameAt(`${path}.name`, c.name, dns1123LabelErrors);
  if (typeof c.name === 'string' && c.name) {
    if (seen.has(c.name)) errs.push(duplicate(`${path}.name`, c.name));
    seen.add(c.name);
  }
  if (c.image === undefined || c.image === null || c.image === '') errs.push(required(`${path}.image`));
  else errs.push(...checkString(c.image, `${path}.image`));
  errs.push(...validatePorts(c.ports, `${path}.ports`));
  errs.push(...checkEnum(c.imagePullPolicy, `${path}.imagePullPolicy`, PULL_POLICIES));
  errs.push(...checkEnum(c.terminationMessagePolicy, `${path}.terminationMessagePolicy`, MESSAGE_POLICIES));
  errs.push(...validateResources(c.resources, `${path}.resources`));
  errs.push(...validateEnvAndMounts(c, path));
  return errs;
}

function validateVolumes(volumes: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  listAt(volumes, path, errs).forEach((v, i) => {
    errs.push(...nameAt(`${path}[${i}].name`, v.name, dns1123LabelErrors));
    if (typeof v.name === 'string' && names.has(v.name)) errs.push(duplicate(`${path}[${i}].name`, v.name));
    if (typeof v.name === 'string') names.add(v.name);
  });
  return errs;
}

export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  listAt(tolerations, path, errs).forEach((t, i) => {
    const at = `${path}[${i}]`;
    if (typeof t.key === 'string' && t.key) {
      for (const m of qualifiedNameErrors(t.key)) errs.push(invalid(`${at}.key`, t.key, m));
    }
    errs.push(...checkEnum(t.operator, `${at}.operator`, TOLERATION_OPERATORS));
    if (t.operator === 'Exists' && t.value) {
      errs.push(invalid(`${at}.operator`, t.operator, "value must be empty when `operator` is 'Exists'"));
    }
    if (!t.key && t.operator !== 'Exists') {
      errs.push(
        invalid(
          `${at}.operator`,
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    errs.push(...checkEnum(t.effect, `${at}.effect`, TAINT_EFFECTS));
  });
  return errs;
}

function validateContainers(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  const containers = listAt(spec.containers, `${path}.containers`, errs);
  if (spec.containers !== undefined && !Array.isArray(spec.containers)) return errs;
  if (containers.length === 0) errs.push(required(`${path}.containers`));
  const inits = listAt(spec.initContainers, `${path}.initContainers`, errs);
  inits.forEach((c, i) => {
    errs.push(...validateContainer(c, `${path}.initContainers[${i}]`, seen));
  });
  containers.forEach((c, i) => {
    errs.push(...validateContainer(c, `${path}.containers[${i}]`, seen));
  });
  return errs;
}

/** `path` is "spec" for pods and "spec.template.spec" for templates. */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  if (!isObj(spec)) return [spec === undefined ? required(path) : typeInvalid(path, spec, 'must be an object')];
  const errs = validateContainers(spec, path);
  errs.push(...validateVolumes(spec.volumes, `${path}.volumes`));
  errs.push(...checkEnum(spec.restartPolicy, `${path}.restartPolicy`, RESTART_POLICIES, true));
  errs.push(...checkEnum(spec.dnsPolicy, `${path}.dnsPolicy`, DNS_POLICIES, true));
  errs.push(...checkNonNegativeInt(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && (!isInt(deadline) || deadline < 1 || deadline > 2147483647)) {
    errs.push(invalid(`${path}.activeDeadlineSeconds`, deadline, rangeError(1, 2147483647)));
  }
  for (const key of ['nodeName', 'serviceAccountName'] as const) {
    if (spec[key] !== undefined && spec[key] !== '')
      errs.push(...nameAt(`${path}.${key}`, spec[key], dns1123SubdomainErrors));
  }
  if (spec.nodeSelector !== undefined && !isObj(spec.nodeSelector)) {
    errs.push(typeInvalid(`${path}.nodeSelector`, spec.nodeSelector, 'must be a map of strings'));
  }
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  return errs;
}

export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';
