/**
 * Pod templates (spec.template of ReplicaSets and Deployments). Upstream defaults and validates a
 * template's pod spec exactly as a pod's: so does this plugin, by asking the pods' own strategy
 * (the core/v1 plugin's, found in the registry) about a pod made of the template, then moving the
 * answers under spec.template. What upstream adds to pods only (SetDefaults_Pod: enableServiceLinks
 * and requests copied from limits; the Priority admission's priority and preemptionPolicy) is taken
 * back off: a template never carries it, so a Deployment read back looks as upstream's does.
 * Then what ValidatePodTemplateSpecForReplicaSet adds: labels present and matched by the selector,
 * restartPolicy Always, no activeDeadlineSeconds.
 */
import type { FieldError } from 'skiff/sdk';
import { clone, type KubeObject, type ResourceCatalog, type Strategy, type StrategyContext } from 'skiff/sdk/api';
import {
  forbidden,
  invalid,
  isObj,
  labelMapErrors,
  listOf,
  notSupported,
  objOf,
  required,
  typeInvalid,
} from './fields.js';
import { selectorMatches } from './selector.js';

const POD_ONLY = ['enableServiceLinks', 'priority', 'preemptionPolicy'];

export interface PodTemplates {
  /** Applies the pod spec's defaults to `spec.template.spec` of `obj`, in place. */
  default(obj: KubeObject, ctx: StrategyContext): Promise<void>;
  /** Upstream's ValidatePodTemplateSpecForReplicaSet, with field paths under `path`. */
  validate(template: unknown, selector: unknown, path: string, ctx: StrategyContext): FieldError[];
  warnings(template: unknown, path: string, ctx: StrategyContext): string[];
}

const underTemplate = (path: string) => (field: string) =>
  field.replace(/^spec(?=\.|\[|$)/, `${path}.spec`).replace(/^metadata(?=\.|$)/, `${path}.metadata`);

/** The template as a pod the pods' strategy can read. */
function asPod(template: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: clone(objOf(template.metadata)), spec: clone(template.spec) };
}

function containersOf(spec: Record<string, unknown>): Record<string, unknown>[] {
  return [...listOf(spec.containers), ...listOf(spec.initContainers)].filter(isObj);
}

export function podTemplates(catalog: ResourceCatalog): PodTemplates {
  const pods = (): Strategy => catalog.find('', 'v1', 'pods')?.strategy ?? {};
  return {
    async default(obj, ctx) {
      const template = objOf(objOf(obj.spec).template);
      if (!isObj(template.spec)) return;
      const before = template.spec;
      const pod = asPod(template);
      await pods().defaults?.(pod, ctx);
      const spec = objOf(pod.spec);
      for (const key of POD_ONLY) if (before[key] === undefined) delete spec[key];
      // Requests copied from limits are SetDefaults_Pod's: keep each container's own resources.
      const original = containersOf(before);
      containersOf(spec).forEach((c, i) => {
        const resources = original[i]?.resources;
        if (resources === undefined) delete c.resources;
        else c.resources = clone(resources);
      });
      template.spec = spec;
    },
    validate(template, selector, path, ctx) {
      if (template === undefined || template === null) return [required(path)];
      if (!isObj(template)) return [typeInvalid(path, template, 'must be an object')];
      const labels = objOf(template.metadata).labels;
      const errs = labelMapErrors(labels, `${path}.metadata.labels`);
      if (!isObj(labels) || Object.keys(labels).length === 0) {
        errs.push(required(`${path}.metadata.labels`));
      } else if (isObj(selector) && !selectorMatches(selector, labels)) {
        errs.push(invalid(`${path}.metadata.labels`, labels, '`selector` does not match template `labels`'));
      }
      const podErrors = pods().validate?.(asPod(template), ctx) ?? [];
      const move = underTemplate(path);
      errs.push(...podErrors.map((e) => ({ ...e, field: move(e.field) })));
      const spec = objOf(template.spec);
      if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
        errs.push(notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy, ['Always']));
      }
      if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
        errs.push(
          forbidden(`${path}.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in ReplicaSet is not Supported'),
        );
      }
      return errs;
    },
    warnings(template, path, ctx) {
      if (!isObj(template)) return [];
      const move = underTemplate(path);
      // Only the spec's warnings: the pod's name warnings are about a name a template does not have.
      const warnings = pods().warningsOnCreate?.(asPod(template), ctx) ?? [];
      return warnings.filter((w) => !w.startsWith('metadata.name:')).map(move);
    },
  };
}
