/**
 * Which pod spec changes an update may make (upstream's ValidatePodUpdate): the new spec, with the
 * mutable fields copied back from the old one, must equal the old spec.
 */
import { clone, type FieldError, type KubeObject } from 'skiff/sdk/api';
import { canonical, forbidden, invalid, isInt, isObj, listOf, type Obj, objOf } from './field.js';
import { POD_UPDATE_FORBIDDEN } from './pod-validation.js';

function keepImages(next: Obj, old: Obj, key: 'containers' | 'initContainers'): void {
  const n = listOf(next[key]);
  const o = listOf(old[key]);
  if (n.length !== o.length) return;
  n.forEach((c, i) => {
    const before = o[i];
    if (isObj(c) && isObj(before)) {
      if (before.image === undefined) delete c.image;
      else c.image = before.image;
    }
  });
}

function deadlineErrors(next: unknown, old: unknown): FieldError[] {
  const field = 'spec.activeDeadlineSeconds';
  if (next === undefined || next === null) {
    return isInt(old) ? [invalid(field, null, 'must not update from a positive integer to nil value')] : [];
  }
  if (isInt(old) && isInt(next) && next > old)
    return [invalid(field, next, 'must be less than or equal to previous value')];
  return [];
}

/** Existing tolerations stay (their tolerationSeconds may change); new ones may be added. */
function tolerationErrors(next: unknown, old: unknown): FieldError[] {
  const without = (t: unknown) => {
    const { tolerationSeconds: _s, ...rest } = objOf(t);
    return canonical(rest);
  };
  const remaining = listOf(next).map(without);
  const lost = listOf(old).some((t) => !remaining.includes(without(t)));
  return lost
    ? [forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds')]
    : [];
}

/** Scheduling gates may only be removed. */
function gatesOnlyRemoved(next: unknown, old: unknown): boolean {
  const before = listOf(old).map(canonical);
  return listOf(next).every((g) => before.includes(canonical(g)));
}

/** `binding`: the write comes through pods/binding, the one path allowed to set spec.nodeName. */
export function validatePodUpdate(pod: KubeObject, old: KubeObject, binding = false): FieldError[] {
  const next = clone(objOf(pod.spec));
  const before = objOf(old.spec);
  const errs = [...deadlineErrors(next.activeDeadlineSeconds, before.activeDeadlineSeconds)];
  errs.push(...tolerationErrors(next.tolerations, before.tolerations));
  if (errs.length) return errs;
  keepImages(next, before, 'containers');
  keepImages(next, before, 'initContainers');
  const copyBack = (key: string) => {
    if (before[key] === undefined) delete next[key];
    else next[key] = before[key];
  };
  copyBack('activeDeadlineSeconds');
  copyBack('tolerations');
  if (gatesOnlyRemoved(next.schedulingGates, before.schedulingGates)) copyBack('schedulingGates');
  const grace = before.terminationGracePeriodSeconds;
  if (isInt(grace) && grace < 0 && next.terminationGracePeriodSeconds === 1) copyBack('terminationGracePeriodSeconds');
  if (binding && !before.nodeName) copyBack('nodeName');
  return canonical(next) === canonical(before) ? [] : [forbidden('spec', POD_UPDATE_FORBIDDEN)];
}
