/**
 * ResourceQuota and LimitRange: the objects the quota and limit-ranger admission plugins read.
 * Validation keeps the quantities sane so those plugins can trust what they parse.
 */
import type { FieldError, KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import {
  checkEnum,
  duplicate,
  forbidden,
  invalid,
  isObj,
  listOf,
  objList,
  objOf,
  required,
  typeInvalid,
} from './field.js';
import { parseQuantity, resourceListErrors } from './quantity.js';

const QUOTA_SCOPES = [
  'BestEffort',
  'CrossNamespacePodAffinity',
  'NotBestEffort',
  'NotTerminating',
  'PriorityClass',
  'Terminating',
];

function validateQuota(quota: KubeObject): FieldError[] {
  if (quota.spec !== undefined && !isObj(quota.spec)) return [typeInvalid('spec', quota.spec, 'must be an object')];
  const spec = objOf(quota.spec);
  const errs = resourceListErrors(spec.hard, 'spec.hard');
  listOf(spec.scopes).forEach((s, i) => {
    errs.push(...checkEnum(s, `spec.scopes[${i}]`, QUOTA_SCOPES));
  });
  const status = objOf(quota.status);
  errs.push(...resourceListErrors(status.hard, 'status.hard'), ...resourceListErrors(status.used, 'status.used'));
  return errs;
}

function keepStatus(obj: KubeObject, old: KubeObject): void {
  if (old.status === undefined) delete obj.status;
  else obj.status = old.status;
}

export const quotaStrategy: Strategy = {
  // Upstream keeps no metadata.generation for this kind (only strategies that set it have one).
  tracksGeneration: false,
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate: keepStatus,
  validate: validateQuota,
  validateUpdate: validateQuota,
};

const LIMIT_LISTS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const;

/** Upstream's ordering rules: min ≤ defaultRequest ≤ default ≤ max, per resource. */
function orderingErrors(limit: Record<string, unknown>, at: string): FieldError[] {
  const errs: FieldError[] = [];
  const q = (list: string, name: string) => parseQuantity(objOf(limit[list])[name]);
  const text = (list: string, name: string) => String(objOf(limit[list])[name]);
  const names = new Set(LIMIT_LISTS.flatMap((l) => Object.keys(objOf(limit[l]))));
  const rules: [lower: string, upper: string, field: string, message: (lo: string, hi: string) => string][] = [
    ['min', 'max', 'min', (lo, hi) => `min value ${lo} is greater than max value ${hi}`],
    [
      'min',
      'defaultRequest',
      'defaultRequest',
      (lo, hi) => `min value ${lo} is greater than default request value ${hi}`,
    ],
    [
      'defaultRequest',
      'max',
      'defaultRequest',
      (lo, hi) => `default request value ${lo} is greater than max value ${hi}`,
    ],
    [
      'defaultRequest',
      'default',
      'defaultRequest',
      (lo, hi) => `default request value ${lo} is greater than default limit value ${hi}`,
    ],
    ['min', 'default', 'default', (lo, hi) => `min value ${lo} is greater than default value ${hi}`],
    ['default', 'max', 'default', (lo, hi) => `default value ${lo} is greater than max value ${hi}`],
  ];
  for (const name of names) {
    for (const [lower, upper, field, message] of rules) {
      const lo = q(lower, name);
      const hi = q(upper, name);
      if (lo !== undefined && hi !== undefined && lo > hi) {
        const value = field === lower ? text(lower, name) : text(upper, name);
        errs.push(invalid(`${at}.${field}[${name}]`, value, message(text(lower, name), text(upper, name))));
      }
    }
  }
  return errs;
}

function validateLimitRange(lr: KubeObject): FieldError[] {
  if (lr.spec !== undefined && !isObj(lr.spec)) return [typeInvalid('spec', lr.spec, 'must be an object')];
  const errs: FieldError[] = [];
  const types = new Set<unknown>();
  objList(objOf(lr.spec).limits).forEach((limit, i) => {
    const at = `spec.limits[${i}]`;
    if (types.has(limit.type)) errs.push(duplicate(`${at}.type`, limit.type));
    types.add(limit.type);
    for (const list of LIMIT_LISTS) errs.push(...resourceListErrors(limit[list], `${at}.${list}`));
    if (limit.type === 'Pod') {
      for (const list of ['default', 'defaultRequest']) {
        if (limit[list] !== undefined)
          errs.push(forbidden(`${at}.${list}`, "may not be specified when `type` is 'Pod'"));
      }
    }
    // Upstream's check, and its odd path: a claim limit must bound storage one way or the other.
    if (limit.type === 'PersistentVolumeClaim' && !('storage' in objOf(limit.min)) && !('storage' in objOf(limit.max)))
      errs.push(
        required(`${at}.limits`, 'either minimum or maximum storage value is required, but neither was provided'),
      );
    if (!errs.length) errs.push(...orderingErrors(limit, at));
  });
  return errs;
}

/**
 * Upstream's SetDefaults_LimitRangeItem, for Container items: the default limit falls back to max,
 * the default request to the default limit, else to min. So `kubectl get limits -o yaml` shows the
 * values LimitRanger will really apply.
 */
function defaultLimitRange(lr: KubeObject): void {
  for (const item of objList(objOf(lr.spec).limits)) {
    if (item.type !== 'Container') continue;
    const fallback = (target: 'default' | 'defaultRequest', from: 'max' | 'default' | 'min') => {
      const into = { ...objOf(item[target]) };
      for (const [name, value] of Object.entries(objOf(item[from]))) if (!(name in into)) into[name] = value;
      if (Object.keys(into).length) item[target] = into;
    };
    fallback('default', 'max');
    fallback('defaultRequest', 'default');
    fallback('defaultRequest', 'min');
  }
}

export const quotaDefinitions: ResourceDefinition[] = [
  {
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    singular: 'resourcequota',
    namespaced: true,
    shortNames: ['quota'],
    strategy: quotaStrategy,
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'LimitRange',
    plural: 'limitranges',
    singular: 'limitrange',
    namespaced: true,
    shortNames: ['limits'],
    strategy: {
      tracksGeneration: false,
      defaults: defaultLimitRange,
      validate: validateLimitRange,
      validateUpdate: validateLimitRange,
    },
  },
];
