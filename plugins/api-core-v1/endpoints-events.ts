/**
 * Endpoints and Events: kinds without spec semantics, written by controllers far more than by users.
 * Both allow create-on-update (PUT of a missing object creates it), as upstream does.
 */
import type { FieldError, KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { checkEnum, invalid, isObj, listOf, objList, objOf, required, typeInvalid } from './field.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, ipErrors, nameAt } from './names.js';
import { PROTOCOLS, portNumberErrors } from './pod-validation.js';

function defaultEndpoints(ep: KubeObject): void {
  for (const subset of objList(ep.subsets)) for (const port of objList(subset.ports)) port.protocol ??= 'TCP';
}

/**
 * Upstream also refuses loopback and link-local addresses here; Skiff runs pods on the loopback
 * range (and advertises the API server on 127.0.0.1), so only the IP syntax is checked.
 */
function addressErrors(addresses: unknown, path: string): FieldError[] {
  return objList(addresses).flatMap((a, i) => {
    const errs = nameAt(`${path}[${i}].ip`, a.ip, ipErrors);
    if (a.nodeName) errs.push(...nameAt(`${path}[${i}].nodeName`, a.nodeName, dns1123SubdomainErrors));
    return errs;
  });
}

function portErrors(ports: unknown, path: string): FieldError[] {
  const list = objList(ports);
  return list.flatMap((p, i) => {
    const at = `${path}[${i}]`;
    const errs = list.length > 1 || p.name ? nameAt(`${at}.name`, p.name, dns1123LabelErrors) : [];
    errs.push(...portNumberErrors(p.port, `${at}.port`));
    errs.push(...checkEnum(p.protocol, `${at}.protocol`, PROTOCOLS, true));
    return errs;
  });
}

export function validateEndpoints(ep: KubeObject): FieldError[] {
  if (ep.subsets !== undefined && ep.subsets !== null && !Array.isArray(ep.subsets)) {
    return [typeInvalid('subsets', ep.subsets, 'must be a list')];
  }
  return listOf(ep.subsets).flatMap((raw, i) => {
    const s = objOf(raw);
    const at = `subsets[${i}]`;
    const errs: FieldError[] = [];
    if (listOf(s.addresses).length === 0 && listOf(s.notReadyAddresses).length === 0) {
      errs.push(required(at, 'must specify `addresses` or `notReadyAddresses`'));
    }
    errs.push(...addressErrors(s.addresses, `${at}.addresses`));
    errs.push(...addressErrors(s.notReadyAddresses, `${at}.notReadyAddresses`));
    errs.push(...portErrors(s.ports, `${at}.ports`));
    return errs;
  });
}

export const endpointsStrategy: Strategy = {
  defaults: defaultEndpoints,
  validate: validateEndpoints,
  validateUpdate: validateEndpoints,
  tracksGeneration: false,
};

export const endpointsDefinition: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  storagePrefix: '/registry/services/endpoints/',
  strategy: endpointsStrategy,
  allowCreateOnUpdate: true,
};

/** Upstream's legacy check: the event lives in its object's namespace ("default" for cluster objects). */
export function validateEvent(ev: KubeObject): FieldError[] {
  if (ev.involvedObject !== undefined && !isObj(ev.involvedObject)) {
    return [typeInvalid('involvedObject', ev.involvedObject, 'must be an object')];
  }
  const involvedNs = objOf(ev.involvedObject).namespace;
  const ns = ev.metadata.namespace ?? '';
  const ok = involvedNs ? involvedNs === ns : ns === '' || ns === 'default';
  return ok ? [] : [invalid('involvedObject.namespace', involvedNs ?? '', 'does not match event.namespace')];
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');
const involved = (field: string) => (o: KubeObject) => text(objOf(o.involvedObject)[field]);

export const eventFieldSelectors: ResourceDefinition['fieldSelectors'] = {
  'involvedObject.kind': involved('kind'),
  'involvedObject.namespace': involved('namespace'),
  'involvedObject.name': involved('name'),
  'involvedObject.uid': involved('uid'),
  'involvedObject.apiVersion': involved('apiVersion'),
  'involvedObject.resourceVersion': involved('resourceVersion'),
  'involvedObject.fieldPath': involved('fieldPath'),
  reason: (o) => text(o.reason),
  reportingComponent: (o) => text(o.reportingComponent),
  source: (o) => text(objOf(o.source).component),
  type: (o) => text(o.type),
};

export const eventDefinition: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  strategy: { validate: validateEvent, validateUpdate: validateEvent, tracksGeneration: false },
  fieldSelectors: eventFieldSelectors,
  allowCreateOnUpdate: true,
};
