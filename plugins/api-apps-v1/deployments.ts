/**
 * apps/v1 Deployment: upstream's defaults (replicas 1; strategy RollingUpdate with maxSurge and
 * maxUnavailable 25%; revisionHistoryLimit 10; progressDeadlineSeconds 600; the template's pod
 * spec), validation (ValidateDeploymentSpec, the immutable selector), the status and scale
 * subresources, and `kubectl get deploy` columns.
 */
import type { FieldError } from 'skiff/sdk';
import type { KubeObject, ResourceDefinition, Strategy, StrategyContext } from 'skiff/sdk/api';
import { forbidden, invalid, isInt, isObj, nonNegativeInt, notSupported, objOf, required } from './fields.js';
import { patchMetaOf } from './patch-meta.js';
import { scaleSubresource } from './scale.js';
import { replicatedSpecErrors, selectorImmutable } from './spec-validation.js';
import { deploymentTable } from './tables.js';
import type { PodTemplates } from './template.js';

const PERCENT = /^[0-9]+%$/;
const PERCENT_HELP =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

function defaultStrategy(spec: Record<string, unknown>): void {
  if (spec.strategy === undefined || spec.strategy === null) spec.strategy = {};
  const strategy = spec.strategy;
  if (!isObj(strategy)) return;
  if (strategy.type === undefined || strategy.type === '') strategy.type = 'RollingUpdate';
  if (strategy.type !== 'RollingUpdate') return;
  if (strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) strategy.rollingUpdate = {};
  const rolling = strategy.rollingUpdate;
  if (!isObj(rolling)) return;
  rolling.maxUnavailable ??= '25%';
  rolling.maxSurge ??= '25%';
}

async function defaultDeployment(obj: KubeObject, templates: PodTemplates, ctx: StrategyContext): Promise<void> {
  const spec = obj.spec;
  if (!isObj(spec)) return;
  spec.replicas ??= 1;
  defaultStrategy(spec);
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  await templates.default(obj, ctx);
}

/** An IntOrString's value: a number, or the percentage's number; undefined when it is neither. */
function intOrPercent(v: unknown): number | undefined {
  if (isInt(v)) return v;
  return typeof v === 'string' && PERCENT.test(v) ? Number(v.slice(0, -1)) : undefined;
}

/** Upstream's ValidatePositiveIntOrPercent. */
function positiveIntOrPercent(v: unknown, field: string): FieldError[] {
  if (typeof v === 'string') return PERCENT.test(v) ? [] : [invalid(field, v, PERCENT_HELP)];
  if (isInt(v)) return nonNegativeInt(v, field);
  return [invalid(field, v, "must be an integer or percentage (e.g '5%')")];
}

function rollingUpdateErrors(rolling: Record<string, unknown>, path: string): FieldError[] {
  const { maxUnavailable, maxSurge } = rolling;
  const errs = [
    ...positiveIntOrPercent(maxUnavailable, `${path}.maxUnavailable`),
    ...positiveIntOrPercent(maxSurge, `${path}.maxSurge`),
  ];
  if (intOrPercent(maxUnavailable) === 0 && intOrPercent(maxSurge) === 0) {
    errs.push(invalid(`${path}.maxUnavailable`, maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  if (typeof maxUnavailable === 'string' && (intOrPercent(maxUnavailable) ?? 0) > 100) {
    errs.push(invalid(`${path}.maxUnavailable`, maxUnavailable, 'must not be greater than 100%'));
  }
  return errs;
}

/** Upstream's ValidateDeploymentStrategy. */
function strategyErrors(strategy: unknown): FieldError[] {
  const s = objOf(strategy);
  if (s.type === 'Recreate') {
    return s.rollingUpdate === undefined || s.rollingUpdate === null
      ? []
      : [forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'")];
  }
  if (s.type !== 'RollingUpdate') return [notSupported('spec.strategy.type', s.type, ['Recreate', 'RollingUpdate'])];
  if (!isObj(s.rollingUpdate))
    return [required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil')];
  return rollingUpdateErrors(s.rollingUpdate, 'spec.strategy.rollingUpdate');
}

export function validateDeployment(obj: KubeObject, templates: PodTemplates, ctx: StrategyContext): FieldError[] {
  const errs = replicatedSpecErrors(obj, templates, ctx);
  if (!isObj(obj.spec)) return errs;
  const spec = obj.spec;
  errs.push(...strategyErrors(spec.strategy));
  errs.push(...nonNegativeInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  const deadline = spec.progressDeadlineSeconds;
  errs.push(...nonNegativeInt(deadline, 'spec.progressDeadlineSeconds'));
  if (isInt(deadline) && deadline >= 0 && deadline <= (isInt(spec.minReadySeconds) ? spec.minReadySeconds : 0)) {
    errs.push(invalid('spec.progressDeadlineSeconds', deadline, 'must be greater than minReadySeconds'));
  }
  if (spec.paused !== undefined && spec.paused !== null && typeof spec.paused !== 'boolean') {
    errs.push(invalid('spec.paused', spec.paused, 'must be a boolean'));
  }
  return errs;
}

function deploymentStrategy(templates: PodTemplates): Strategy {
  return {
    defaults: (obj, ctx) => defaultDeployment(obj, templates, ctx),
    prepareForCreate(obj) {
      obj.status = {};
    },
    prepareForUpdate(obj, old) {
      if (old.status === undefined) delete obj.status;
      else obj.status = old.status;
    },
    validate: (obj, ctx) => validateDeployment(obj, templates, ctx),
    validateUpdate: (obj, old, ctx) => [...validateDeployment(obj, templates, ctx), ...selectorImmutable(obj, old)],
    warningsOnCreate: (obj, ctx) => templates.warnings(objOf(obj.spec).template, 'spec.template', ctx),
    warningsOnUpdate: (obj, old, ctx) =>
      obj.metadata.generation !== old.metadata.generation
        ? templates.warnings(objOf(obj.spec).template, 'spec.template', ctx)
        : [],
  };
}

export function deploymentDefinition(templates: PodTemplates): ResourceDefinition {
  return {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    strategy: deploymentStrategy(templates),
    hasStatus: true,
    subresources: { scale: scaleSubresource },
    patchMeta: patchMetaOf('k8s.io.api.apps.v1.Deployment'),
    table: deploymentTable,
  };
}
