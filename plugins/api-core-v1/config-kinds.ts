/**
 * Secrets, ConfigMaps and ServiceAccounts: data kinds whose writes never bump metadata.generation.
 * Bad base64 in `data`/`binaryData` is a decode error upstream, so it is a 400, not a 422.
 */
import { errors, type FieldError, type KubeObject, type ResourceDefinition, type Strategy } from 'skiff/sdk/api';
import { canonical, forbidden, IMMUTABLE, invalid, isObj, objOf, required, tooLong, typeInvalid } from './field.js';
import { configKeyErrors } from './names.js';

const MAX_DATA_BYTES = 1024 * 1024;
const IMMUTABLE_SET = 'field is immutable when `immutable` is set';
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Where Go's base64 decoder would stop, or -1 when `s` decodes. */
export function base64ErrorOffset(s: string): number {
  const text = s.replace(/[\r\n]/g, '');
  const bad = text.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  if (!B64.test(text)) return text.indexOf('=');
  return text.length % 4 === 0 ? -1 : text.length - (text.length % 4);
}

function decodedBytes(values: Record<string, unknown>): number {
  return Object.values(values).reduce<number>(
    (n, v) => n + (typeof v === 'string' ? Buffer.from(v, 'base64').length : 0),
    0,
  );
}

function checkBase64(kind: string, map: unknown, field: string): void {
  if (!isObj(map)) return;
  for (const value of Object.values(map)) {
    const offset = typeof value === 'string' ? base64ErrorOffset(value) : -1;
    if (typeof value !== 'string' && value !== null) {
      throw errors.badRequest(
        `${kind} in version "v1" cannot be handled as a ${kind}: ${field} values must be base64 strings`,
      );
    }
    if (offset >= 0) {
      throw errors.badRequest(
        `${kind} in version "v1" cannot be handled as a ${kind}: illegal base64 data at input byte ${offset}`,
      );
    }
  }
}

function keyErrors(map: unknown, field: string): FieldError[] {
  if (map === undefined || map === null) return [];
  if (!isObj(map)) return [typeInvalid(field, map, 'must be a map')];
  return Object.keys(map).flatMap((k) => configKeyErrors(k).map((m) => invalid(`${field}[${k}]`, k, m)));
}

/** Upstream's immutable Secret/ConfigMap rules; `fields` are the data maps. */
function immutabilityErrors(obj: KubeObject, old: KubeObject, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true) errs.push(forbidden('immutable', IMMUTABLE_SET));
  for (const f of fields)
    if (canonical(obj[f] ?? {}) !== canonical(old[f] ?? {})) errs.push(forbidden(f, IMMUTABLE_SET));
  return errs;
}

/** stringData is write-only sugar: merged into data (winning over it) and never stored. */
function prepareSecret(secret: KubeObject): void {
  checkBase64('Secret', secret.data, 'data');
  secret.type ??= 'Opaque';
  if (isObj(secret.stringData)) {
    const data = isObj(secret.data) ? secret.data : {};
    for (const [k, v] of Object.entries(secret.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
    secret.data = data;
  }
  delete secret.stringData;
}

const TYPE_REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export function validateSecret(secret: KubeObject): FieldError[] {
  const errs = keyErrors(secret.data, 'data');
  const data = objOf(secret.data);
  if (decodedBytes(data) > MAX_DATA_BYTES) errs.push(tooLong('data', `must have at most ${MAX_DATA_BYTES} bytes`));
  const type = String(secret.type ?? 'Opaque');
  for (const key of TYPE_REQUIRED_KEYS[type] ?? []) if (!data[key]) errs.push(required(`data[${key}]`));
  if (type === 'kubernetes.io/basic-auth' && !data.username && !data.password) {
    errs.push(required('data[username]'), required('data[password]'));
  }
  if (
    type === 'kubernetes.io/service-account-token' &&
    !secret.metadata.annotations?.['kubernetes.io/service-account.name']
  ) {
    errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  return errs;
}

export const secretStrategy: Strategy = {
  prepareForCreate: prepareSecret,
  prepareForUpdate: prepareSecret,
  validate: validateSecret,
  validateUpdate(obj, old) {
    const errs = validateSecret(obj);
    if ((obj.type ?? 'Opaque') !== (old.type ?? 'Opaque')) errs.push(invalid('type', obj.type, IMMUTABLE));
    return [...errs, ...immutabilityErrors(obj, old, ['data'])];
  },
  tracksGeneration: false,
};

export function validateConfigMap(cm: KubeObject): FieldError[] {
  const errs = [...keyErrors(cm.data, 'data'), ...keyErrors(cm.binaryData, 'binaryData')];
  const data = objOf(cm.data);
  const binary = objOf(cm.binaryData);
  let bytes = decodedBytes(binary);
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') errs.push(typeInvalid(`data[${k}]`, v, 'must be a string'));
    else bytes += k.length + Buffer.byteLength(v);
    if (Object.hasOwn(binary, k)) errs.push(invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
  }
  if (bytes > MAX_DATA_BYTES) errs.push(tooLong('data', `must have at most ${MAX_DATA_BYTES} bytes`));
  return errs;
}

export const configMapStrategy: Strategy = {
  prepareForCreate: (obj) => checkBase64('ConfigMap', obj.binaryData, 'binaryData'),
  prepareForUpdate: (obj) => checkBase64('ConfigMap', obj.binaryData, 'binaryData'),
  validate: validateConfigMap,
  validateUpdate: (obj, old) => [...validateConfigMap(obj), ...immutabilityErrors(obj, old, ['data', 'binaryData'])],
  tracksGeneration: false,
};

const core = { group: '', version: 'v1', namespaced: true } as const;

export const configDefinitions: ResourceDefinition[] = [
  {
    ...core,
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    strategy: secretStrategy,
    fieldSelectors: { type: (o) => String(o.type ?? '') },
  },
  {
    ...core,
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    strategy: configMapStrategy,
  },
  {
    ...core,
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    shortNames: ['sa'],
    strategy: { tracksGeneration: false },
  },
];
