/** What the parts of one runtime share (one per node; see runtime.ts). */
import type { PodSandboxStatus, RuntimeLogger } from 'skiff/sdk/runtime';
import { RuntimeError } from 'skiff/sdk/runtime';
import type { Cgroups } from './cgroups.js';
import type { AddressPool, Cidr } from './cidr.js';
import type { ProcessRuntimeConfig } from './config.js';
import type { HostTools } from './host.js';
import type { ImageTable } from './images.js';
import type { BridgeNetwork } from './network.js';
import type { ContainerOutput, Rotation } from './output.js';
import type { ContainerRecord, SandboxRecord, StateDir } from './state.js';

export type Isolation = 'root' | 'user' | 'none';

export interface RuntimeContext {
  config: ProcessRuntimeConfig;
  nodeName: string;
  logger: RuntimeLogger;
  tools: HostTools;
  state: StateDir;
  /** Host-wide state of this prefix (mount point references). */
  runDir: string;
  isolation: Isolation;
  networkMode: 'pod' | 'host';
  network?: BridgeNetwork;
  cgroups?: Cgroups;
  images: ImageTable;
  cluster: Cidr;
  loopback: Cidr;
  nodeRange?: Cidr;
  pool?: AddressPool;
  rotation: Rotation;
  sandboxes: Map<string, SandboxRecord>;
  containers: Map<string, ContainerRecord>;
  outputs: Map<string, ContainerOutput>;
  cpuSamples: Map<string, { at: number; usage: number }>;
  /** Why this runtime runs degraded (logged once at open). */
  warnings: string[];
}

export function sandboxOf(ctx: RuntimeContext, id: string): SandboxRecord {
  const record = ctx.sandboxes.get(id);
  if (!record) throw new RuntimeError('NotFound', `pod sandbox "${id}" not found`, 'list sandboxes for current IDs');
  return record;
}

export function containerOf(ctx: RuntimeContext, id: string): ContainerRecord {
  const record = ctx.containers.get(id);
  if (!record) throw new RuntimeError('NotFound', `container "${id}" not found`, 'list containers for current IDs');
  return record;
}

export function sandboxStatus(record: SandboxRecord): PodSandboxStatus {
  return {
    id: record.id,
    metadata: record.metadata,
    state: record.state,
    createdAt: record.createdAt,
    ip: record.ip,
    hostNetwork: record.hostNetwork,
    labels: record.labels,
    annotations: record.annotations,
  };
}
