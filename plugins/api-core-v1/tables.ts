/**
 * `kubectl get` columns for the core/v1 kinds, after upstream's printers (pkg/printers/internalversion).
 * Priority-1 columns appear with `-o wide`.
 */
import { ageOf, type KubeObject, type TableColumn, type TableDefinition } from 'skiff/sdk/api';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown, none = '<none>'): string => (typeof v === 'string' && v !== '' ? v : none);

const NAME: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
};
const AGE: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};
const col = (name: string, type = 'string', priority?: number): TableColumn =>
  priority ? { name, type, priority } : { name, type };

function selectorString(selector: unknown): string {
  const pairs = Object.entries(obj(selector)).map(([k, v]) => `${k}=${String(v)}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const status = obj(pod.status);
  // As upstream's printPod: the first container's waiting or terminated reason (the list read backwards).
  let reason = str(status.reason, '') || str(status.phase, 'Unknown');
  let running = false;
  for (const cs of list(status.containerStatuses).map(obj).reverse()) {
    const state = obj(cs.state);
    const terminated = obj(state.terminated);
    if (obj(state.waiting).reason) reason = String(obj(state.waiting).reason);
    else if (terminated.reason) reason = String(terminated.reason);
    else if (state.terminated) reason = `ExitCode:${String(terminated.exitCode)}`;
    else if (cs.ready === true && state.running) running = true;
  }
  return reason === 'Completed' && running ? 'Running' : reason;
}

function podRow(pod: KubeObject, now: Date): unknown[] {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const containers = list(spec.containers).length;
  const statuses = list(status.containerStatuses).map(obj);
  const ready = statuses.filter((s) => s.ready === true).length;
  const restarts = statuses.reduce((n, s) => n + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
  const gates = list(spec.readinessGates).length;
  return [
    pod.metadata.name,
    `${ready}/${containers}`,
    podStatus(pod),
    restarts,
    ageOf(pod.metadata, now),
    str(status.podIP),
    str(spec.nodeName),
    str(status.nominatedNodeName),
    gates ? `0/${gates}` : '<none>',
  ];
}

function servicePorts(spec: Obj): string {
  const ports = list(spec.ports).map(obj);
  if (!ports.length) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${str(p.protocol, 'TCP')}`).join(',');
}

function externalIP(spec: Obj, status: Obj): string {
  const type = str(spec.type, 'ClusterIP');
  if (type === 'ExternalName') return str(spec.externalName);
  const external = list(spec.externalIPs).map(String);
  if (type === 'LoadBalancer') {
    const ingress = list(obj(status.loadBalancer).ingress).map((i) => str(obj(i).ip, '') || str(obj(i).hostname, ''));
    const all = [...ingress, ...external].filter(Boolean);
    return all.length ? all.join(',') : '<pending>';
  }
  return external.length ? external.join(',') : '<none>';
}

const TABLES: Record<string, TableDefinition> = {
  Pod: {
    columns: [
      NAME,
      col('Ready'),
      col('Status'),
      col('Restarts', 'string'),
      AGE,
      col('IP', 'string', 1),
      col('Node', 'string', 1),
      col('Nominated Node', 'string', 1),
      col('Readiness Gates', 'string', 1),
    ],
    row: podRow,
  },
  Service: {
    columns: [
      NAME,
      col('Type'),
      col('Cluster-IP'),
      col('External-IP'),
      col('Port(s)'),
      AGE,
      col('Selector', 'string', 1),
    ],
    row: (o, now) => {
      const spec = obj(o.spec);
      return [
        o.metadata.name,
        str(spec.type, 'ClusterIP'),
        str(spec.clusterIP),
        externalIP(spec, obj(o.status)),
        servicePorts(spec),
        ageOf(o.metadata, now),
        selectorString(spec.selector),
      ];
    },
  },
  ReplicationController: {
    columns: [
      NAME,
      col('Desired', 'integer'),
      col('Current', 'integer'),
      col('Ready', 'integer'),
      AGE,
      col('Containers', 'string', 1),
      col('Images', 'string', 1),
      col('Selector', 'string', 1),
    ],
    row: (o, now) => {
      const spec = obj(o.spec);
      const status = obj(o.status);
      const containers = list(obj(obj(spec.template).spec).containers).map(obj);
      return [
        o.metadata.name,
        spec.replicas ?? 1,
        status.replicas ?? 0,
        status.readyReplicas ?? 0,
        ageOf(o.metadata, now),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
        selectorString(spec.selector),
      ];
    },
  },
  Namespace: {
    columns: [NAME, col('Status'), AGE],
    row: (o, now) => [o.metadata.name, str(obj(o.status).phase, 'Active'), ageOf(o.metadata, now)],
  },
  Node: {
    columns: [
      NAME,
      col('Status'),
      col('Roles'),
      AGE,
      col('Version'),
      col('Internal-IP', 'string', 1),
      col('External-IP', 'string', 1),
    ],
    row: (o, now) => {
      const status = obj(o.status);
      const ready = list(status.conditions)
        .map(obj)
        .find((c) => c.type === 'Ready');
      let state = ready?.status === 'True' ? 'Ready' : 'NotReady';
      if (obj(o.spec).unschedulable) state += ',SchedulingDisabled';
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      const address = (type: string) =>
        str(
          list(status.addresses)
            .map(obj)
            .find((a) => a.type === type)?.address,
        );
      return [
        o.metadata.name,
        state,
        roles.length ? roles.join(',') : '<none>',
        ageOf(o.metadata, now),
        str(obj(status.nodeInfo).kubeletVersion, ''),
        address('InternalIP'),
        address('ExternalIP'),
      ];
    },
  },
  ConfigMap: {
    columns: [NAME, col('Data', 'integer'), AGE],
    row: (o, now) => [
      o.metadata.name,
      Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length,
      ageOf(o.metadata, now),
    ],
  },
  Secret: {
    columns: [NAME, col('Type'), col('Data', 'integer'), AGE],
    row: (o, now) => [o.metadata.name, str(o.type, 'Opaque'), Object.keys(obj(o.data)).length, ageOf(o.metadata, now)],
  },
  ServiceAccount: {
    columns: [NAME, col('Secrets', 'integer'), AGE],
    row: (o, now) => [o.metadata.name, list(o.secrets).length, ageOf(o.metadata, now)],
  },
  Event: {
    columns: [
      col('Last Seen'),
      col('Type'),
      col('Reason'),
      col('Object'),
      col('Subobject', 'string', 1),
      col('Source', 'string', 1),
      col('Message'),
      col('First Seen', 'string', 1),
      col('Count', 'string', 1),
      col('Name', 'string', 1),
    ],
    row: eventRow,
  },
  ResourceQuota: {
    columns: [NAME, AGE, col('Request'), col('Limit')],
    row: (o, now) => [o.metadata.name, ageOf(o.metadata, now), quotaUsage(o, false), quotaUsage(o, true)],
  },
  LimitRange: {
    columns: [NAME, { name: 'Created At', type: 'date' }],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  },
  PersistentVolume: {
    columns: [
      NAME,
      col('Capacity'),
      col('Access Modes'),
      col('Reclaim Policy'),
      col('Status'),
      col('Claim'),
      col('StorageClass'),
      col('VolumeAttributesClass'),
      col('Reason'),
      AGE,
      col('VolumeMode', 'string', 1),
    ],
    row: (o, now) => {
      const spec = obj((o as Record<string, unknown>).spec);
      const status = obj((o as Record<string, unknown>).status);
      const claim = obj(spec.claimRef);
      return [
        o.metadata.name,
        storage(spec.capacity),
        accessModes(spec.accessModes),
        str(spec.persistentVolumeReclaimPolicy, ''),
        str(status.phase, ''),
        claim.name ? `${String(claim.namespace ?? '')}/${String(claim.name)}` : '',
        str(spec.storageClassName, ''),
        str(spec.volumeAttributesClassName, '<unset>'),
        str(status.reason, ''),
        ageOf(o.metadata, now),
        str(spec.volumeMode, 'Filesystem'),
      ];
    },
  },
  PersistentVolumeClaim: {
    columns: [
      NAME,
      col('Status'),
      col('Volume'),
      col('Capacity'),
      col('Access Modes'),
      col('StorageClass'),
      col('VolumeAttributesClass'),
      AGE,
      col('VolumeMode', 'string', 1),
    ],
    row: (o, now) => {
      const spec = obj((o as Record<string, unknown>).spec);
      const status = obj((o as Record<string, unknown>).status);
      const bound = Boolean(spec.volumeName);
      return [
        o.metadata.name,
        str(status.phase, o.metadata.deletionTimestamp ? 'Terminating' : ''),
        str(spec.volumeName, ''),
        bound ? storage(status.capacity) : '',
        bound ? accessModes(status.accessModes) : '',
        str(spec.storageClassName, ''),
        str(spec.volumeAttributesClassName, '<unset>'),
        ageOf(o.metadata, now),
        str(spec.volumeMode, 'Filesystem'),
      ];
    },
  },
  Endpoints: {
    columns: [NAME, col('Endpoints'), AGE],
    row: (o, now) => {
      const eps = list(o.subsets).flatMap((s) => {
        const ports = list(obj(s).ports).map((p) => obj(p).port);
        return list(obj(s).addresses).flatMap((a) =>
          (ports.length ? ports : ['']).map((p) => `${obj(a).ip}${p === '' ? '' : `:${p}`}`),
        );
      });
      const shown = eps.length > 3 ? `${eps.slice(0, 3).join(',')} + ${eps.length - 3} more...` : eps.join(',');
      return [o.metadata.name, shown || '<none>', ageOf(o.metadata, now)];
    },
  },
};

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};
const accessModes = (v: unknown) =>
  list(v)
    .map((m) => ACCESS_MODES[String(m)] ?? String(m))
    .join(',');
const storage = (v: unknown) => str(obj(v).storage, '');

function eventRow(o: KubeObject, now: Date): unknown[] {
  const e = o as KubeObject & Record<string, unknown>;
  const involved = obj(e.involvedObject);
  const source = obj(e.source);
  const last = str(e.lastTimestamp, '') || str(e.eventTime, '') || (o.metadata.creationTimestamp ?? '');
  const first = str(e.firstTimestamp, '') || str(e.eventTime, '') || (o.metadata.creationTimestamp ?? '');
  const since = (t: string) => (t ? ageOf({ creationTimestamp: t }, now) : '<unknown>');
  const count = typeof e.count === 'number' ? e.count : 1;
  return [
    since(last),
    str(e.type, ''),
    str(e.reason, ''),
    `${String(involved.kind ?? '').toLowerCase()}/${String(involved.name ?? '')}`,
    str(involved.fieldPath, ''),
    [source.component, source.host].filter(Boolean).join(', '),
    str(e.message, ''),
    since(first),
    count,
    o.metadata.name,
  ];
}

function quotaUsage(o: KubeObject, limits: boolean): string {
  const hard = obj(obj((o as Record<string, unknown>).status).hard);
  const used = obj(obj((o as Record<string, unknown>).status).used);
  const specHard = obj(obj((o as Record<string, unknown>).spec).hard);
  const source = Object.keys(hard).length ? hard : specHard;
  return Object.keys(source)
    .filter((r) => r.startsWith('limits.') === limits)
    .sort()
    .map((r) => `${r}: ${String(used[r] ?? '0')}/${String(source[r])}`)
    .join(', ');
}

export function tableFor(kind: string): TableDefinition | undefined {
  return TABLES[kind];
}
