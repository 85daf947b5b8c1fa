/**
 * `kubectl get` columns for Deployments and ReplicaSets, after upstream's printers
 * (printDeployment, printReplicaSet); priority-1 columns appear with `-o wide`.
 */
import { ageOf, type KubeObject, type TableColumn, type TableDefinition } from 'skiff/sdk/api';
import { isObj, listOf, objOf } from './fields.js';
import { selectorText } from './selector.js';

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
const col = (name: string, type: string, description: string, priority?: number): TableColumn =>
  priority ? { name, type, description, priority } : { name, type, description };

const WIDE = [
  col('Containers', 'string', 'Names of each container in the template.', 1),
  col('Images', 'string', 'Images referenced by each container in the template.', 1),
  col(
    'Selector',
    'string',
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    1,
  ),
];

function wideCells(obj: KubeObject): string[] {
  const spec = objOf(obj.spec);
  const containers = listOf(objOf(objOf(spec.template).spec).containers).filter(isObj);
  return [
    containers.map((c) => String(c.name ?? '')).join(','),
    containers.map((c) => String(c.image ?? '')).join(','),
    selectorText(spec.selector) || '<none>',
  ];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

export const deploymentTable: TableDefinition = {
  columns: [
    NAME,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'integer',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'integer',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    AGE,
    ...WIDE,
  ],
  row: (o, now) => {
    const status = objOf(o.status);
    return [
      o.metadata.name,
      `${num(status.readyReplicas)}/${num(objOf(o.spec).replicas)}`,
      num(status.updatedReplicas),
      num(status.availableReplicas),
      ageOf(o.metadata, now),
      ...wideCells(o),
    ];
  },
};

export const replicaSetTable: TableDefinition = {
  columns: [
    NAME,
    col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
    col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
    AGE,
    ...WIDE,
  ],
  row: (o, now) => {
    const status = objOf(o.status);
    return [
      o.metadata.name,
      num(objOf(o.spec).replicas),
      num(status.replicas),
      num(status.readyReplicas),
      ageOf(o.metadata, now),
      ...wideCells(o),
    ];
  },
};
