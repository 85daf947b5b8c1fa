/**
 * admission-priority: upstream's Priority admission plugin. A new pod's priorityClassName becomes
 * its spec.priority and spec.preemptionPolicy (the globalDefault class when it names none, else
 * priority 0 and PreemptLowerPriority); a class that does not exist, or a priority or policy the
 * pod gives that differs from its class's, is refused. An update keeps what creation set. A second
 * globalDefault PriorityClass is refused. See README.md.
 */

import type { CachedObjects } from 'skiff/sdk';
import { type AdmissionAttributes, definePlugin, forbidden, isResource, type KubeObject } from 'skiff/sdk';

type Obj = Record<string, unknown>;
const fields = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const GROUP = 'scheduling.k8s.io';
const PLURAL = 'priorityclasses';

interface Resolved {
  className: string;
  priority: number;
  preemptionPolicy?: string;
}

/** Upstream's getDefaultPriorityClass: the globalDefault class with the lowest value (after a race, several). */
export function defaultClass(classes: readonly KubeObject[]): KubeObject | undefined {
  let found: KubeObject | undefined;
  for (const pc of classes) {
    if (fields(pc).globalDefault !== true) continue;
    if (!found || Number(fields(found).value) > Number(fields(pc).value)) found = pc;
  }
  return found;
}

function fromClass(pc: KubeObject): Resolved {
  const f = fields(pc);
  return {
    className: pc.metadata.name ?? '',
    priority: Number(f.value ?? 0),
    preemptionPolicy: f.preemptionPolicy as string | undefined,
  };
}

async function resolveClass(objects: CachedObjects, a: AdmissionAttributes, name: string): Promise<Resolved> {
  if (!name) {
    const dpc = defaultClass(await objects.listOrLookup(GROUP, 'v1', PLURAL, ''));
    return dpc ? fromClass(dpc) : { className: '', priority: 0, preemptionPolicy: 'PreemptLowerPriority' };
  }
  const pc = objects.peek(GROUP, 'v1', PLURAL, '', name) ?? (await objects.get(GROUP, 'v1', PLURAL, '', name));
  if (!pc) throw forbidden(a, `no PriorityClass with name ${name} was found`);
  return fromClass(pc);
}

async function admitPodCreate(objects: CachedObjects, a: AdmissionAttributes): Promise<void> {
  const spec = fields(a.object!.spec);
  a.object!.spec = spec;
  const r = await resolveClass(objects, a, typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '');
  if (!spec.priorityClassName && r.className) spec.priorityClassName = r.className;
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== r.priority) {
    throw forbidden(
      a,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${r.priority} from the given PriorityClass name`,
    );
  }
  spec.priority = r.priority;
  if (r.preemptionPolicy === undefined) return;
  if (
    spec.preemptionPolicy !== undefined &&
    spec.preemptionPolicy !== null &&
    spec.preemptionPolicy !== r.preemptionPolicy
  ) {
    throw forbidden(
      a,
      `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${r.preemptionPolicy} from the given PriorityClass name`,
    );
  }
  spec.preemptionPolicy = r.preemptionPolicy;
}

/** An update keeps the priority creation set (validation refuses any other change of it). */
function admitPodUpdate(a: AdmissionAttributes): void {
  const spec = fields(a.object!.spec);
  const old = fields(a.oldObject?.spec);
  if ((spec.priority === undefined || spec.priority === null) && old.priority !== undefined)
    spec.priority = old.priority;
  if ((spec.preemptionPolicy === undefined || spec.preemptionPolicy === null) && old.preemptionPolicy !== undefined) {
    spec.preemptionPolicy = old.preemptionPolicy;
  }
}

async function validateClass(objects: CachedObjects, a: AdmissionAttributes): Promise<void> {
  if (fields(a.object).globalDefault !== true) return;
  const dpc = defaultClass(await objects.list(GROUP, 'v1', PLURAL, ''));
  if (dpc && (a.operation === 'CREATE' || dpc.metadata.name !== a.name)) {
    throw forbidden(a, `PriorityClass ${dpc.metadata.name} is already marked as default. Only one default can exist`);
  }
}

export default definePlugin({
  name: 'admission-priority',
  description:
    "Resolves a pod's priorityClassName into its priority and preemption policy (upstream's Priority admission).",
  dependencies: ['api-scheduling-v1'],
  admissionName: 'Priority',
  // Upstream's AllOrderedPlugins: after PodNodeSelector, before DefaultTolerationSeconds.
  admissionOrder: 13,
  setup(ctx) {
    const objects = ctx.api.cached;
    ctx.provide.admission({
      name: 'Priority',
      handles: (op) => op === 'CREATE' || op === 'UPDATE',
      admit(a) {
        if (!isResource(a, '', 'pods') || !a.object) return undefined;
        if (a.operation === 'UPDATE') return admitPodUpdate(a);
        return admitPodCreate(objects, a);
      },
      validate(a) {
        if (!isResource(a, GROUP, PLURAL) || !a.object) return undefined;
        return validateClass(objects, a);
      },
    });
  },
});
