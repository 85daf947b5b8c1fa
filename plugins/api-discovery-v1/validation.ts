/**
 * EndpointSlice defaulting and validation, after upstream's discovery/v1 defaults and
 * pkg/apis/discovery/validation: an address type (immutable), at most 1000 endpoints of 1 to 100
 * addresses each, checked per address type, DNS-label hostnames, node names, zone hints, and
 * at most 20000 ports with unique names and a supported protocol.
 */
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  type FieldError,
  type KubeObject,
  labelValueErrors,
  qualifiedNameErrors,
} from 'skiff/sdk/api';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objList = (v: unknown): Obj[] => (Array.isArray(v) ? v.map((x) => (isObj(x) ? x : {})) : []);

export const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const MAX_TOPOLOGY_LABELS = 16;
const MAX_ZONE_HINTS = 8;

const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});
const tooMany = (field: string, count: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field,
  value: count,
  detail: `must have at most ${max} items`,
});
const required = (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail });
const messages = (field: string, value: unknown, found: string[]) => found.map((m) => invalid(field, value, m));

/** Upstream's SetDefaults_EndpointPort: a port's name defaults to "" and its protocol to TCP. */
export function defaultEndpointSlice(slice: KubeObject): void {
  for (const port of objList(slice.ports)) {
    port.name ??= '';
    port.protocol ??= 'TCP';
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return false;
  try {
    return new URL(`http://[${text}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/**
 * One address, checked as its slice's type says (unknown types are not checked, as upstream).
 * Upstream also refuses loopback and link-local IPs; Skiff's pods live on the loopback range when
 * they share the host network, so only the syntax is checked (as Skiff's Endpoints do).
 */
function addressErrors(address: unknown, type: unknown, field: string): FieldError[] {
  const text = typeof address === 'string' ? address : '';
  if (type === 'IPv4' && !IPV4.test(text)) return [invalid(field, address, 'must be a valid IPv4 address')];
  if (type === 'IPv6' && !isIPv6(text)) return [invalid(field, address, 'must be a valid IPv6 address')];
  if (type === 'FQDN') return fqdnErrors(text, field);
  return [];
}

/** Upstream's IsFullyQualifiedDomainName: a DNS subdomain (a trailing dot aside) of two labels or more. */
function fqdnErrors(address: string, field: string): FieldError[] {
  if (!address) return [required(field)];
  const name = address.endsWith('.') ? address.slice(0, -1) : address;
  const errs = dns1123SubdomainErrors(name);
  if (errs.length) return [invalid(field, name, errs.join(','))];
  if (!name.includes('.'))
    return [invalid(field, name, 'should be a domain with at least two segments separated by dots')];
  return [];
}

function hintErrors(hints: unknown, field: string): FieldError[] {
  const zones = objList(isObj(hints) ? hints.forZones : undefined);
  if (zones.length > MAX_ZONE_HINTS) return [tooMany(`${field}.forZones`, zones.length, MAX_ZONE_HINTS)];
  return zones.flatMap((z, i) =>
    messages(`${field}.forZones[${i}].name`, z.name, labelValueErrors(String(z.name ?? ''))),
  );
}

function endpointErrors(ep: Obj, type: unknown, at: string): FieldError[] {
  const addresses = Array.isArray(ep.addresses) ? ep.addresses : [];
  const errs: FieldError[] = [];
  if (addresses.length === 0) errs.push(required(`${at}.addresses`, 'must contain at least 1 address'));
  else if (addresses.length > MAX_ADDRESSES) errs.push(tooMany(`${at}.addresses`, addresses.length, MAX_ADDRESSES));
  for (const [i, a] of addresses.entries()) errs.push(...addressErrors(a, type, `${at}.addresses[${i}]`));
  if (typeof ep.nodeName === 'string') {
    errs.push(...messages(`${at}.nodeName`, ep.nodeName, dns1123SubdomainErrors(ep.nodeName)));
  }
  const topology = isObj(ep.deprecatedTopology) ? ep.deprecatedTopology : {};
  const keys = Object.keys(topology);
  if (keys.length > MAX_TOPOLOGY_LABELS) {
    errs.push(tooMany(`${at}.deprecatedTopology`, keys.length, MAX_TOPOLOGY_LABELS));
  }
  for (const key of keys) {
    errs.push(...messages(`${at}.deprecatedTopology`, key, qualifiedNameErrors(key)));
    errs.push(...messages(`${at}.deprecatedTopology`, topology[key], labelValueErrors(String(topology[key]))));
  }
  if (typeof ep.hostname === 'string') {
    errs.push(...messages(`${at}.hostname`, ep.hostname, dns1123LabelErrors(ep.hostname)));
  }
  if (ep.hints !== undefined && ep.hints !== null) errs.push(...hintErrors(ep.hints, `${at}.hints`));
  return errs;
}

function portErrors(ports: Obj[]): FieldError[] {
  if (ports.length > MAX_PORTS) return [tooMany('ports', ports.length, MAX_PORTS)];
  const names = new Set<string>();
  return ports.flatMap((port, i) => {
    const at = `ports[${i}]`;
    const name = typeof port.name === 'string' ? port.name : '';
    const errs = name ? messages(`${at}.name`, name, dns1123LabelErrors(name)) : [];
    if (names.has(name)) errs.push({ type: 'FieldValueDuplicate', field: `${at}.name`, value: name });
    names.add(name);
    if (port.protocol === undefined || port.protocol === null) errs.push(required(`${at}.protocol`));
    else if (!PROTOCOLS.includes(String(port.protocol))) {
      errs.push({
        type: 'FieldValueNotSupported',
        field: `${at}.protocol`,
        value: port.protocol,
        supported: PROTOCOLS,
      });
    }
    if (typeof port.appProtocol === 'string') {
      errs.push(...messages(`${at}.appProtocol`, port.appProtocol, qualifiedNameErrors(port.appProtocol)));
    }
    return errs;
  });
}

function addressTypeErrors(type: unknown): FieldError[] {
  if (type === undefined || type === null || type === '') return [required('addressType')];
  if (!ADDRESS_TYPES.includes(String(type))) {
    return [{ type: 'FieldValueNotSupported', field: 'addressType', value: type, supported: ADDRESS_TYPES }];
  }
  return [];
}

function listTypeErrors(slice: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ['endpoints', 'ports']) {
    const v = slice[key];
    if (v !== undefined && v !== null && !Array.isArray(v)) {
      errs.push({ type: 'FieldValueTypeInvalid', field: key, value: v, detail: 'must be a list' });
    }
  }
  return errs;
}

/** Upstream's ValidateEndpointSlice (object metadata is the core's). */
export function validateEndpointSlice(slice: KubeObject): FieldError[] {
  const typeErrs = listTypeErrors(slice);
  if (typeErrs.length) return typeErrs;
  const errs = addressTypeErrors(slice.addressType);
  const endpoints = objList(slice.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) errs.push(tooMany('endpoints', endpoints.length, MAX_ENDPOINTS));
  else
    for (const [i, ep] of endpoints.entries()) errs.push(...endpointErrors(ep, slice.addressType, `endpoints[${i}]`));
  errs.push(...portErrors(objList(slice.ports)));
  return errs;
}

/** Upstream's ValidateEndpointSliceUpdate: the address type may not change once it is a supported one. */
export function validateEndpointSliceUpdate(slice: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateEndpointSlice(slice);
  if (ADDRESS_TYPES.includes(String(old.addressType)) && slice.addressType !== old.addressType) {
    errs.push(invalid('addressType', slice.addressType, 'field is immutable'));
  }
  return errs;
}
