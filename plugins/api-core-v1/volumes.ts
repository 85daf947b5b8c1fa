/**
 * PersistentVolumes and PersistentVolumeClaims: defaults, the checks that keep the binder sane, and
 * upstream's rule that a claim's spec is immutable except for what binding and expansion change.
 */
import {
  clone,
  type FieldError,
  type KubeObject,
  nowTimestamp,
  type ResourceDefinition,
  type Strategy,
} from 'skiff/sdk/api';
import {
  canonical,
  checkEnum,
  forbidden,
  invalid,
  isObj,
  listOf,
  type Obj,
  objOf,
  required,
  typeInvalid,
} from './field.js';
import { parseQuantity, resourceListErrors } from './quantity.js';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];
const VOLUME_MODES = ['Block', 'Filesystem'];
const PV_SOURCES = [
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'csi',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'glusterfs',
  'hostPath',
  'iscsi',
  'local',
  'nfs',
  'photonPersistentDisk',
  'portworxVolume',
  'quobyte',
  'rbd',
  'scaleIO',
  'storageos',
  'vsphereVolume',
];

function keepStatus(obj: KubeObject, old: KubeObject): void {
  if (old.status === undefined) delete obj.status;
  else obj.status = old.status;
}

function accessModeErrors(spec: Obj): FieldError[] {
  const modes = listOf(spec.accessModes);
  if (modes.length === 0) return [required('spec.accessModes')];
  return modes.flatMap((m, i) => checkEnum(m, `spec.accessModes[${i}]`, ACCESS_MODES));
}

function specObject(obj: KubeObject): Obj | FieldError[] {
  if (isObj(obj.spec)) return obj.spec;
  return [obj.spec === undefined ? required('spec') : typeInvalid('spec', obj.spec, 'must be an object')];
}

function validatePV(pv: KubeObject): FieldError[] {
  const spec = specObject(pv);
  if (Array.isArray(spec)) return spec;
  const errs = accessModeErrors(spec);
  const capacity = objOf(spec.capacity);
  if (Object.keys(capacity).length === 0) errs.push(required('spec.capacity'));
  for (const name of Object.keys(capacity)) {
    if (name !== 'storage')
      errs.push({ type: 'FieldValueNotSupported', field: 'spec.capacity', value: name, supported: ['storage'] });
  }
  errs.push(...resourceListErrors(spec.capacity, 'spec.capacity'));
  errs.push(...checkEnum(spec.persistentVolumeReclaimPolicy, 'spec.persistentVolumeReclaimPolicy', RECLAIM_POLICIES));
  errs.push(...checkEnum(spec.volumeMode, 'spec.volumeMode', VOLUME_MODES));
  const sources = PV_SOURCES.filter((s) => spec[s] !== undefined && spec[s] !== null);
  if (sources.length === 0) errs.push(required('spec', 'must specify a volume type'));
  if (sources.length > 1) errs.push(forbidden(`spec.${sources[1]}`, 'may not specify more than 1 volume type'));
  return errs;
}

function defaultPV(pv: KubeObject): void {
  if (!isObj(pv.spec)) return;
  pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
  pv.spec.volumeMode ??= 'Filesystem';
}

export const pvStrategy: Strategy = {
  // Upstream keeps no metadata.generation for this kind (only strategies that set it have one).
  tracksGeneration: false,
  defaults: defaultPV,
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', lastPhaseTransitionTime: nowTimestamp() };
  },
  prepareForUpdate: keepStatus,
  validate: validatePV,
  validateUpdate: validatePV,
};

function validatePVC(pvc: KubeObject): FieldError[] {
  const spec = specObject(pvc);
  if (Array.isArray(spec)) return spec;
  const errs = accessModeErrors(spec);
  const resources = objOf(spec.resources);
  const storage = objOf(resources.requests).storage;
  if (storage === undefined) errs.push(required('spec.resources[storage]'));
  errs.push(...resourceListErrors(resources.requests, 'spec.resources.requests'));
  errs.push(...resourceListErrors(resources.limits, 'spec.resources.limits'));
  if (storage !== undefined && parseQuantity(storage) === 0n) {
    errs.push(invalid('spec.resources[storage]', storage, 'must be greater than zero'));
  }
  errs.push(...checkEnum(spec.volumeMode, 'spec.volumeMode', VOLUME_MODES));
  return errs;
}

const PVC_SPEC_IMMUTABLE =
  'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';

function validatePVCUpdate(pvc: KubeObject, old: KubeObject): FieldError[] {
  const errs = validatePVC(pvc);
  if (errs.length) return errs;
  const next = clone(objOf(pvc.spec));
  const before = objOf(old.spec);
  if (!before.volumeName) next.volumeName = before.volumeName;
  if (next.volumeName === undefined) delete next.volumeName;
  next.volumeAttributesClassName = before.volumeAttributesClassName;
  if (before.volumeAttributesClassName === undefined) delete next.volumeAttributesClassName;
  if (objOf(old.status).phase === 'Bound') {
    const newStorage = parseQuantity(objOf(objOf(next.resources).requests).storage);
    const oldStorage = parseQuantity(objOf(objOf(before.resources).requests).storage);
    if (newStorage !== undefined && oldStorage !== undefined && newStorage < oldStorage) {
      return [forbidden('spec.resources.requests.storage', 'field can not be less than previous value')];
    }
    next.resources = { ...objOf(next.resources), requests: objOf(before.resources).requests };
  }
  return canonical(next) === canonical(before) ? [] : [forbidden('spec', PVC_SPEC_IMMUTABLE)];
}

export const pvcStrategy: Strategy = {
  // Upstream keeps no metadata.generation for this kind (only strategies that set it have one).
  tracksGeneration: false,
  defaults(obj) {
    if (isObj(obj.spec)) obj.spec.volumeMode ??= 'Filesystem';
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending' };
  },
  prepareForUpdate: keepStatus,
  validate: validatePVC,
  validateUpdate: validatePVCUpdate,
};

/** Upstream keeps a non-prefixed `name` field selector on both kinds for old clients. */
const byName = { name: (o: KubeObject) => o.metadata.name ?? '' };

export const volumeDefinitions: ResourceDefinition[] = [
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    singular: 'persistentvolume',
    namespaced: false,
    shortNames: ['pv'],
    strategy: pvStrategy,
    fieldSelectors: byName,
    returnDeletedObject: true,
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    namespaced: true,
    shortNames: ['pvc'],
    strategy: pvcStrategy,
    fieldSelectors: byName,
    returnDeletedObject: true,
    hasStatus: true,
  },
];
