/**
 * scheduling.k8s.io/v1 PriorityClass as upstream serves it: cluster-scoped, `value` required and
 * immutable, `preemptionPolicy` defaulted to PreemptLowerPriority and immutable, user classes at
 * most 1,000,000,000, and the "system-" prefix reserved for the two system classes, which must
 * keep their exact value and globalDefault.
 */
import type { FieldError, KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { ageOf } from 'skiff/sdk/api';

export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
const SYSTEM_PREFIX = 'system-';
const POLICIES = ['PreemptLowerPriority', 'Never'];

/** Upstream's SystemPriorityClasses, created at start (api-scheduling-v1's bootstrap). */
export const SYSTEM_PRIORITY_CLASSES = [
  {
    name: 'system-node-critical',
    value: 2 * HIGHEST_USER_DEFINABLE_PRIORITY + 1000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    name: 'system-cluster-critical',
    value: 2 * HIGHEST_USER_DEFINABLE_PRIORITY,
    description:
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

export function systemClassObject(c: (typeof SYSTEM_PRIORITY_CLASSES)[number]): KubeObject {
  return {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: c.name },
    value: c.value,
    globalDefault: false,
    description: c.description,
    preemptionPolicy: 'PreemptLowerPriority',
  } as KubeObject;
}

type Obj = Record<string, unknown>;
const fields = (o: KubeObject) => o as unknown as Obj;

/** Upstream's IsKnownSystemPriorityClass: the reason a system-prefixed class is not one, if it is not. */
function systemClassProblem(name: string, value: unknown, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

function typeErrors(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  if (typeof o.value !== 'number' || !Number.isInteger(o.value) || Math.abs(o.value) > 2 ** 31 - 1) {
    errs.push({ type: 'FieldValueInvalid', field: 'value', value: o.value, detail: 'must be a 32-bit integer' });
  }
  if (o.globalDefault !== undefined && typeof o.globalDefault !== 'boolean') {
    errs.push({
      type: 'FieldValueTypeInvalid',
      field: 'globalDefault',
      value: o.globalDefault,
      detail: 'must be a boolean',
    });
  }
  if (o.description !== undefined && typeof o.description !== 'string') {
    errs.push({
      type: 'FieldValueTypeInvalid',
      field: 'description',
      value: o.description,
      detail: 'must be a string',
    });
  }
  return errs;
}

/** Upstream's ValidatePriorityClass (metadata is checked by the core). */
export function validatePriorityClass(pc: KubeObject): FieldError[] {
  const o = fields(pc);
  const errs = typeErrors(o);
  if (errs.length) return errs;
  const name = pc.metadata.name ?? '';
  if (name.startsWith(SYSTEM_PREFIX)) {
    const problem = systemClassProblem(name, o.value, o.globalDefault === true);
    if (problem) {
      errs.push({
        type: 'FieldValueForbidden',
        field: 'metadata.name',
        detail: `priority class names with '${SYSTEM_PREFIX}' prefix are reserved for system use only. error: ${problem}`,
      });
    }
  } else if ((o.value as number) > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'value',
      detail: `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
    });
  }
  if (o.preemptionPolicy === '') errs.push({ type: 'FieldValueRequired', field: 'preemptionPolicy', detail: '' });
  else if (o.preemptionPolicy !== undefined && !POLICIES.includes(String(o.preemptionPolicy))) {
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'preemptionPolicy',
      value: o.preemptionPolicy,
      supported: POLICIES,
    });
  }
  return errs;
}

export function validatePriorityClassUpdate(pc: KubeObject, old: KubeObject): FieldError[] {
  const errs = validatePriorityClass(pc);
  const [o, p] = [fields(pc), fields(old)];
  if (o.value !== p.value)
    errs.push({ type: 'FieldValueForbidden', field: 'value', detail: 'may not be changed in an update.' });
  if (o.preemptionPolicy !== p.preemptionPolicy) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'preemptionPolicy',
      value: o.preemptionPolicy,
      detail: 'field is immutable',
    });
  }
  return errs;
}

/** Upstream's SetDefaults_PriorityClass. */
function defaultPriorityClass(pc: KubeObject): void {
  const o = fields(pc);
  o.preemptionPolicy ??= 'PreemptLowerPriority';
}

export const priorityClassStrategy: Strategy = {
  defaults: defaultPriorityClass,
  validate: validatePriorityClass,
  validateUpdate: validatePriorityClassUpdate,
  tracksGeneration: false,
};

export const priorityClassDefinition: ResourceDefinition = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  strategy: priorityClassStrategy,
  // Upstream's printer: NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY.
  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
      { name: 'Value', type: 'integer', description: 'value represents the integer value of this priority class.' },
      {
        name: 'Global-Default',
        type: 'boolean',
        description:
          'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.',
      },
      { name: 'Age', type: 'string', description: 'Time since the object was created.' },
      {
        name: 'PreemptionPolicy',
        type: 'string',
        description: 'preemptionPolicy is the Policy for preempting pods with lower priority.',
      },
    ],
    row: (o, now) => {
      const f = fields(o);
      return [
        o.metadata.name,
        f.value ?? 0,
        f.globalDefault === true,
        ageOf(o.metadata, now),
        f.preemptionPolicy ?? '',
      ];
    },
  },
};
