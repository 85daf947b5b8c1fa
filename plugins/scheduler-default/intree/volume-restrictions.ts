/**
 * VolumeRestrictions (the seed era's NoDiskConflict): a GCE persistent disk, an AWS EBS volume, an
 * RBD image or an iSCSI target cannot be mounted read-write by two pods on one node (GCE PD, RBD and
 * iSCSI may be shared when every pod mounts them read-only; EBS never); a ReadWriteOncePod claim
 * cannot be used by a second pod anywhere.
 */
import { Code, status } from 'skiff/sdk/scheduler';
import { claimsOf, type NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { obj, objs } from './common.js';
import type { InTreePlugin } from './registry-types.js';

type Obj = Record<string, unknown>;
const KEY = 'PreFilterVolumeRestrictions';
const DISK_CONFLICT = status(Code.Unschedulable, 'node(s) had no available disk');
const RWOP_CONFLICT = status(
  Code.Unschedulable,
  'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode',
);

const needsCheck = (v: Obj) => Boolean(v.gcePersistentDisk || v.awsElasticBlockStore || v.rbd || v.iscsi);
const overlap = (a: unknown, b: unknown) => Array.isArray(a) && Array.isArray(b) && a.some((m) => b.includes(m));

/** Upstream's isVolumeConflict: whether `v` conflicts with any volume of an existing pod. */
export function isVolumeConflict(v: Obj, existing: readonly Obj[]): boolean {
  for (const e of existing) {
    const [gce, egce] = [obj(v.gcePersistentDisk), obj(e.gcePersistentDisk)];
    if (v.gcePersistentDisk && e.gcePersistentDisk && gce.pdName === egce.pdName && !(gce.readOnly && egce.readOnly))
      return true;
    if (
      v.awsElasticBlockStore &&
      e.awsElasticBlockStore &&
      obj(v.awsElasticBlockStore).volumeID === obj(e.awsElasticBlockStore).volumeID
    )
      return true;
    const [iscsi, eiscsi] = [obj(v.iscsi), obj(e.iscsi)];
    if (v.iscsi && e.iscsi && iscsi.iqn === eiscsi.iqn && !(iscsi.readOnly && eiscsi.readOnly)) return true;
    const [rbd, erbd] = [obj(v.rbd), obj(e.rbd)];
    if (
      v.rbd &&
      e.rbd &&
      overlap(rbd.monitors, erbd.monitors) &&
      (rbd.pool ?? 'rbd') === (erbd.pool ?? 'rbd') &&
      rbd.image === erbd.image &&
      !(rbd.readOnly && erbd.readOnly)
    ) {
      return true;
    }
  }
  return false;
}

class State {
  constructor(
    readonly volumes: Obj[],
    /** The pod's ReadWriteOncePod claims, "namespace/name". */
    readonly rwop: string[],
    /** Pods anywhere using one of those claims. */
    public rwopConflicts: number,
  ) {}

  clone(): State {
    return new State(this.volumes, this.rwop, this.rwopConflicts);
  }

  /** Preemption's what-if: another pod counted (1) or taken away (-1). */
  update(other: PodInformation, delta: number): void {
    for (const c of claimsOf(other)) if (this.rwop.includes(c)) this.rwopConflicts += delta;
  }
}

export const VolumeRestrictions: InTreePlugin = {
  name: 'VolumeRestrictions',
  factory: (_args, handle) => ({
    name: 'VolumeRestrictions',
    preFilter(state, pod) {
      const p = pod as PodInformation;
      const all = objs(p.spec.volumes);
      const volumes = all.filter(needsCheck);
      const rwop: string[] = [];
      for (const v of all) {
        const claim = obj(v.persistentVolumeClaim).claimName;
        if (typeof claim !== 'string' || !claim) continue;
        const pvc = handle.listers.get('persistentvolumeclaims', p.namespace, claim);
        if (!pvc)
          return { status: status(Code.UnschedulableAndUnresolvable, `persistentvolumeclaim "${claim}" not found`) };
        const modes = obj(pvc.spec).accessModes;
        if (Array.isArray(modes) && modes.includes('ReadWriteOncePod')) rwop.push(`${p.namespace}/${claim}`);
      }
      if (volumes.length === 0 && rwop.length === 0) return { status: status(Code.Skip) };
      let rwopConflicts = 0;
      if (rwop.length)
        for (const n of handle.cache.nodes.values()) for (const c of rwop) rwopConflicts += n.pvcRefCounts.get(c) ?? 0;
      state.write(KEY, new State(volumes, rwop, rwopConflicts));
      return undefined;
    },
    addPod(state, _pod, add) {
      state.read<State>(KEY)?.update(add as PodInformation, 1);
      return undefined;
    },
    removePod(state, _pod, remove) {
      state.read<State>(KEY)?.update(remove as PodInformation, -1);
      return undefined;
    },
    filter(state, pod, node) {
      const s =
        state.read<State>(KEY) ?? new State(objs((pod as PodInformation).spec.volumes).filter(needsCheck), [], 0);
      const n = node as NodeInformation;
      for (const v of s.volumes) {
        for (const existing of n.pods) {
          if (isVolumeConflict(v, objs(existing.spec.volumes))) return DISK_CONFLICT;
        }
      }
      return s.rwopConflicts > 0 ? RWOP_CONFLICT : undefined;
    },
    events: () => [
      { resource: 'Pod', actions: ['Delete'] },
      { resource: 'Node', actions: ['Add'] },
    ],
  }),
};
