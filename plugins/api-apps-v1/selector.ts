/**
 * metav1.LabelSelector in apps/v1 specs: upstream's ValidateLabelSelector, whether a selector
 * matches a label set, and the string form the scale subresource reports (requirements sorted by
 * key, as upstream's LabelSelectorAsSelector orders them).
 */
import type { FieldError } from 'skiff/sdk';
import { qualifiedNameErrors } from 'skiff/sdk/api';
import {
  type LabelSelector,
  type LabelSelectorObject,
  labelSelectorFromObject,
  labelSelectorString,
  matchesLabels,
} from 'skiff/sdk/controller';
import { forbidden, invalid, isObj, labelMapErrors, listOf, objOf, required, typeInvalid } from './fields.js';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function expressionErrors(expression: unknown, path: string): FieldError[] {
  if (!isObj(expression)) return [typeInvalid(path, expression, 'must be an object')];
  const { key, operator, values } = expression;
  const errs: FieldError[] = [];
  if (!OPERATORS.includes(operator as string)) {
    errs.push(invalid(`${path}.operator`, operator, 'not a valid selector operator'));
  } else if (operator === 'In' || operator === 'NotIn') {
    if (listOf(values).length === 0) {
      errs.push(required(`${path}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    }
  } else if (listOf(values).length > 0) {
    errs.push(forbidden(`${path}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  }
  if (typeof key !== 'string') errs.push(typeInvalid(`${path}.key`, key, 'must be a string'));
  else for (const m of qualifiedNameErrors(key)) errs.push(invalid(`${path}.key`, key, m));
  for (const [i, v] of listOf(values).entries()) {
    if (typeof v !== 'string') errs.push(typeInvalid(`${path}.values[${i}]`, v, 'must be a string'));
  }
  return errs;
}

/** Upstream's ValidateLabelSelector. */
export function labelSelectorErrors(selector: unknown, path: string): FieldError[] {
  if (!isObj(selector)) return [typeInvalid(path, selector, 'must be an object')];
  const errs = labelMapErrors(selector.matchLabels, `${path}.matchLabels`);
  const expressions = selector.matchExpressions;
  if (expressions !== undefined && expressions !== null && !Array.isArray(expressions)) {
    errs.push(typeInvalid(`${path}.matchExpressions`, expressions, 'must be a list'));
  }
  for (const [i, e] of listOf(expressions).entries())
    errs.push(...expressionErrors(e, `${path}.matchExpressions[${i}]`));
  return errs;
}

/** Whether the selector selects nothing in particular: {} (which upstream refuses for apps/v1 kinds). */
export function isEmptySelector(selector: unknown): boolean {
  const s = objOf(selector);
  return Object.keys(objOf(s.matchLabels)).length === 0 && listOf(s.matchExpressions).length === 0;
}

/** The selector's requirements, or undefined for one that does not parse (already refused by validation). */
export function requirementsOf(selector: unknown): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(objOf(selector) as LabelSelectorObject);
  } catch {
    return undefined;
  }
}

export function selectorMatches(selector: unknown, labels: unknown): boolean {
  const requirements = requirementsOf(selector);
  return requirements !== undefined && matchesLabels(requirements, objOf(labels) as Record<string, string>);
}

/** The selector as a string, requirements sorted by key: `app=web,tier in (a,b)`. */
export function selectorText(selector: unknown): string {
  const requirements = requirementsOf(selector) ?? [];
  return labelSelectorString([...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
}
