/**
 * What ReplicaSets and Deployments validate alike (upstream's ValidateReplicaSetSpec and
 * ValidateDeploymentSpec share it): replicas and minReadySeconds not negative, a selector that is
 * given, valid and not empty, a template it matches; on update, apps/v1's immutable selector.
 */
import type { FieldError } from 'skiff/sdk';
import type { KubeObject, StrategyContext } from 'skiff/sdk/api';
import { canonical, invalid, isObj, nonNegativeInt, objOf, required, typeInvalid } from './fields.js';
import { isEmptySelector, labelSelectorErrors } from './selector.js';
import type { PodTemplates } from './template.js';

export function replicatedSpecErrors(obj: KubeObject, templates: PodTemplates, ctx: StrategyContext): FieldError[] {
  if (!isObj(obj.spec)) {
    return [obj.spec === undefined ? required('spec') : typeInvalid('spec', obj.spec, 'must be an object')];
  }
  const spec = obj.spec;
  const errs = [
    ...nonNegativeInt(spec.replicas, 'spec.replicas'),
    ...nonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds'),
  ];
  const selector = spec.selector;
  if (selector === undefined || selector === null) errs.push(required('spec.selector'));
  else {
    const selectorErrors = labelSelectorErrors(selector, 'spec.selector');
    errs.push(...selectorErrors);
    if (selectorErrors.length === 0 && isEmptySelector(selector)) {
      errs.push(invalid('spec.selector', selector, 'empty selector is invalid for deployment'));
    }
  }
  const usable = isObj(selector) && !isEmptySelector(selector) && labelSelectorErrors(selector, '').length === 0;
  errs.push(...templates.validate(spec.template, usable ? selector : undefined, 'spec.template', ctx));
  return errs;
}

/** apps/v1 refuses a changed selector (extensions/v1beta1 allowed it). */
export function selectorImmutable(obj: KubeObject, old: KubeObject): FieldError[] {
  const next = objOf(obj.spec).selector;
  const before = objOf(old.spec).selector;
  return canonical(next) === canonical(before) ? [] : [invalid('spec.selector', next, 'field is immutable')];
}
