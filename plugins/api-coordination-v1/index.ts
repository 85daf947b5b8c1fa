/**
 * api-coordination-v1: coordination.k8s.io/v1 Lease, the object leader election and node
 * heartbeats renew every few seconds. See README.md.
 */

import type { FieldError } from 'skiff/sdk';
import { definePlugin } from 'skiff/sdk';
import type { KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { ageOf } from 'skiff/sdk/api';

// metav1.MicroTime as clients send it: RFC 3339, optional fraction (Go accepts any precision).
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const INT32_MAX = 2147483647;

type Check = (value: unknown, field: string) => FieldError[];

const typeError = (field: string, value: unknown, detail: string): FieldError[] => [
  { type: 'FieldValueTypeInvalid', field, value, detail },
];

const isString: Check = (v, field) => (typeof v === 'string' ? [] : typeError(field, v, 'must be a string'));

const isInt32: Check = (v, field) =>
  typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= INT32_MAX
    ? []
    : typeError(field, v, 'must be a 32-bit integer');

const isMicroTime: Check = (v, field) =>
  typeof v === 'string' && MICRO_TIME.test(v) && !Number.isNaN(Date.parse(v))
    ? []
    : typeError(field, v, 'must be an RFC 3339 timestamp (e.g. 2024-01-02T15:04:05.000000Z)');

const SPEC_FIELDS: Record<string, Check> = {
  holderIdentity: isString,
  leaseDurationSeconds: isInt32,
  acquireTime: isMicroTime,
  renewTime: isMicroTime,
  leaseTransitions: isInt32,
  preferredHolder: isString,
  strategy: isString,
};

/** Upstream's ValidateLeaseSpec, plus the type checks JSON decoding does upstream. */
export function validateLease(lease: KubeObject): FieldError[] {
  const spec = lease.spec;
  if (spec === undefined || spec === null) return [];
  if (typeof spec !== 'object' || Array.isArray(spec)) return typeError('spec', spec, 'must be an object');
  const s = spec as Record<string, unknown>;
  const errs: FieldError[] = [];
  for (const [key, check] of Object.entries(SPEC_FIELDS)) {
    if (s[key] !== undefined && s[key] !== null) errs.push(...check(s[key], `spec.${key}`));
  }
  if (errs.length) return errs;
  const duration = s.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseDurationSeconds',
      value: duration,
      detail: 'must be greater than 0',
    });
  }
  const transitions = s.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.leaseTransitions',
      value: transitions,
      detail: 'must be greater than or equal to 0',
    });
  }
  if (s.strategy && s.strategy !== 'OldestEmulationVersion') {
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'spec.strategy',
      value: s.strategy,
      supported: ['OldestEmulationVersion'],
    });
  }
  if (s.preferredHolder && !s.strategy) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'spec.preferredHolder',
      detail: 'may only be specified if `strategy` is defined',
    });
  }
  return errs;
}

export const leaseStrategy: Strategy = {
  validate: validateLease,
  validateUpdate: validateLease,
  // Renewals rewrite renewTime every few seconds; they are not changes of intent.
  tracksGeneration: false,
};

export const leaseDefinition: ResourceDefinition = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  strategy: leaseStrategy,
  allowCreateOnUpdate: true,
  // Upstream's printer: NAME HOLDER AGE.
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
      { name: 'Holder', type: 'string', description: 'The holder of the lease.' },
      { name: 'Age', type: 'string', description: 'Time since the object was created.' },
    ],
    row: (o, now) => [
      o.metadata.name,
      String((o.spec as { holderIdentity?: string })?.holderIdentity ?? ''),
      ageOf(o.metadata, now),
    ],
  },
};

export default definePlugin({
  name: 'api-coordination-v1',
  description: 'coordination.k8s.io/v1 Lease, for leader election and node heartbeats.',
  setup(ctx) {
    ctx.provide.resource(leaseDefinition);
  },
});
