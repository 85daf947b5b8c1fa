/**
 * Pod networking on one host: one bridge for every local node, the whole cluster range routed to
 * it before any pod address is used (so no packet for a cluster address, assigned or not, ever
 * follows the default route out of the machine), a named network namespace plus a veth pair per
 * sandbox. The host owns each node's gateway address (.1 of its podCIDR) on the bridge; IP
 * forwarding is never turned on, so what a pod sends outside the cluster range and the host's own
 * addresses is dropped by the host.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Batch } from './batch.js';
import { type Cidr, gatewayOf, ipToNumber } from './cidr.js';
import { run, shQuote } from './host.js';

export interface NetworkNames {
  bridge: string;
  /** Network namespace of a sandbox: `<prefix>-<id12>`. */
  netnsPrefix: string;
  /** Host end of a sandbox's veth pair: `<prefix>v<id8>` (link names are at most 15 bytes). */
  vethPrefix: string;
}

export function networkNames(prefix: string, bridge?: string): NetworkNames {
  return { bridge: bridge ?? `${prefix}0`, netnsPrefix: `${prefix}-`, vethPrefix: `${prefix}v` };
}

export const NETNS_DIR = '/run/netns';

/**
 * Host-wide bridge state, shared by the runtimes (one per local node) of this process that use the
 * same bridge, and serialised: a sandbox must never find the route half made or being removed.
 */
interface BridgeState {
  chain: Promise<unknown>;
  ready: boolean;
  gateways: Set<string>;
  /** Sandboxes waiting for their network, set up together. */
  setups: Batch<SandboxSetup>;
}
const bridges = new Map<string, BridgeState>();

interface SandboxSetup {
  network: BridgeNetwork;
  sandboxId: string;
  address: string;
  nodeRange: Cidr;
}

function bridgeState(name: string): BridgeState {
  let state = bridges.get(name);
  if (!state) {
    const created: BridgeState = { chain: Promise.resolve(), ready: false, gateways: new Set() } as BridgeState;
    created.setups = new Batch((setups) => setUpBatch(created, setups), SETUP_BATCH_MAX);
    bridges.set(name, created);
    state = created;
  }
  return state;
}

const SETUP_DONE = '@@skiff-sandbox';
const HOST_DONE = '@@skiff-host';
/** Sandboxes set up by one batch at most: their pods start their containers while the next batch runs. */
const SETUP_BATCH_MAX = 25;

/** The host side of a sandbox: its namespace, and a veth pair with one end inside it, the other on the bridge. */
function hostSide({ network, sandboxId }: SandboxSetup): string[] {
  const netns = network.netnsOf(sandboxId);
  const veth = network.vethOf(sandboxId);
  return [
    `netns add ${netns}`,
    `link add ${veth} type veth peer name eth0 netns ${netns}`,
    `link set ${veth} master ${network.names.bridge} up`,
  ];
}

/** Shell lines for the inside of a sandbox's namespace; then a line with its id and how `ip` ended. */
function insideScript({ network, sandboxId, address, nodeRange }: SandboxSetup): string {
  const inside = [
    `addr add ${address}/${nodeRange.prefix} dev eth0`,
    'link set lo up',
    'link set eth0 up',
    `route add ${network.cluster.text} dev eth0`,
    `route add default via ${gatewayOf(nodeRange)} dev eth0`,
  ];
  return [
    `${shQuote(network.ip)} -n ${network.netnsOf(sandboxId)} -batch - 2>&1 <<'SKIFF_NETNS'`,
    ...inside,
    'SKIFF_NETNS',
    `printf '\\n${SETUP_DONE} %s %s\\n' ${sandboxId} $?`,
  ].join('\n');
}

/** By sandbox id, what `ip` said for each setup that failed. */
function parseSetupOutput(out: string): Map<string, string> {
  const failures = new Map<string, string>();
  let said: string[] = [];
  for (const line of out.split('\n')) {
    const done = line.startsWith(`${SETUP_DONE} `) ? line.split(' ') : undefined;
    if (!done) {
      if (line.trim()) said.push(line.trim());
      continue;
    }
    if (done[2] !== '0') failures.set(done[1]!, said.join('; ') || `exit status ${done[2]}`);
    said = [];
  }
  return failures;
}

function serialised<T>(state: BridgeState, work: () => Promise<T>): Promise<T> {
  const next = state.chain.then(work, work);
  state.chain = next.catch(() => undefined);
  return next;
}

export class BridgeNetwork {
  constructor(
    readonly ip: string,
    readonly names: NetworkNames,
    readonly cluster: Cidr,
    /** The shell that runs a batch of sandbox setups. */
    readonly sh = '/bin/sh',
  ) {}

  netnsOf(sandboxId: string): string {
    return `${this.names.netnsPrefix}${sandboxId.slice(0, 12)}`;
  }

  vethOf(sandboxId: string): string {
    return `${this.names.vethPrefix}${sandboxId.slice(0, 8)}`;
  }

  /** The bridge, the cluster route and this node's gateway address, before any address is handed out. */
  ensureNode(nodeRange: Cidr): Promise<void> {
    const state = bridgeState(this.names.bridge);
    return serialised(state, () => this.ensureNodeLocked(state, nodeRange));
  }

  /** Only under the bridge's lock (serialised). */
  async ensureNodeLocked(state: BridgeState, nodeRange: Cidr): Promise<void> {
    const gateway = gatewayOf(nodeRange);
    const exists = existsSync(`/sys/class/net/${this.names.bridge}`);
    if (state.ready && exists && state.gateways.has(gateway)) return;
    const { bridge } = this.names;
    const lines = exists ? [] : [`link add name ${bridge} type bridge`];
    lines.push(`link set ${bridge} up`, `route replace ${this.cluster.text} dev ${bridge}`);
    lines.push(`addr replace ${gateway}/32 dev ${bridge}`);
    await run(this.ip, ['-batch', '-'], `${lines.join('\n')}\n`);
    if (!exists) state.gateways.clear();
    state.ready = true;
    state.gateways.add(gateway);
  }

  /**
   * A namespace with lo up, eth0 holding the pod address, the cluster range on-link and a default
   * route via the host. Sandboxes asked for together are set up together (batch.ts, setUpBatch):
   * one shell forks their `ip` runs, rather than the runtime one each.
   */
  async createSandbox(sandboxId: string, address: string, nodeRange: Cidr): Promise<void> {
    const state = bridgeState(this.names.bridge);
    try {
      await state.setups.add({ network: this, sandboxId, address, nodeRange });
    } catch (err) {
      await this.removeSandbox(sandboxId);
      throw err;
    }
  }

  /** Idempotent: the veth first (so it is gone when this returns), then the namespace. */
  async removeSandbox(sandboxId: string): Promise<void> {
    const netns = this.netnsOf(sandboxId);
    const veth = this.vethOf(sandboxId);
    const lines: string[] = [];
    if (existsSync(`/sys/class/net/${veth}`)) lines.push(`link del ${veth}`);
    if (existsSync(`${NETNS_DIR}/${netns}`)) lines.push(`netns del ${netns}`);
    if (lines.length) await run(this.ip, ['-force', '-batch', '-'], `${lines.join('\n')}\n`);
  }

  /**
   * The pod addresses inside `range` that namespaces of this prefix hold although no sandbox in
   * `known` owns them: pods a runtime killed with its data dir left on the bridge. Handing such an
   * address out again would put two pods on the bridge with one IP.
   */
  async strayAddresses(range: Cidr, known: Set<string>): Promise<Map<string, string>> {
    const stray = new Map<string, string>();
    for (const netns of listNetns(this.names.netnsPrefix).filter((n) => !known.has(n))) {
      const out = await run(this.ip, ['-n', netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).catch(() => '');
      const address = / inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
      if (address && inRange(range, address)) stray.set(netns, address);
    }
    return stray;
  }

  /** The bridge (and with it the cluster route and gateway addresses) once no sandbox of this prefix is left. */
  removeBridgeIfUnused(): Promise<boolean> {
    const state = bridgeState(this.names.bridge);
    return serialised(state, async () => {
      if (listNetns(this.names.netnsPrefix).length > 0) return false;
      await removeBridge(this.ip, this.names.bridge);
      state.ready = false;
      state.gateways.clear();
      return true;
    });
  }
}

/**
 * One batch of sandboxes, under the bridge's lock (a bridge removal must see their namespaces once
 * it is ensured), by one shell: the host sides of all of them in one `ip`, then the inside of each
 * namespace (`ip -n`, one each).
 */
function setUpBatch(state: BridgeState, setups: SandboxSetup[]): Promise<(Error | undefined)[]> {
  return serialised(state, async () => {
    const results: (Error | undefined)[] = [];
    for (const setup of setups) {
      results.push(
        await setup.network.ensureNodeLocked(state, setup.nodeRange).then(
          () => undefined,
          (err: Error) => err,
        ),
      );
    }
    const ready = setups.filter((_, i) => !results[i]);
    if (!ready.length) return results;
    const hostLines = ready.map(hostSide);
    const script = [
      `${shQuote(ready[0]!.network.ip)} -force -batch - 2>&1 <<'SKIFF_HOST'`,
      ...hostLines.flat(),
      'SKIFF_HOST',
      `printf '\\n${HOST_DONE} %s\\n' $?`,
      ...ready.map(insideScript),
    ];
    const out = await run(ready[0]!.network.sh, ['-c', script.join('\n')]);
    const [hostOut = '', status = '', insideOut = ''] = out.split(new RegExp(`^${HOST_DONE} (\\d+)$`, 'm'));
    const owners = hostLines.flatMap((lines, i) => lines.map(() => ready[i]!.sandboxId));
    const hostFailures = status === '0' ? new Map<string, string>() : parseHostOutput(hostOut, owners);
    const insideFailures = parseSetupOutput(insideOut);
    return setups.map((s, i) => {
      const failure = hostFailures.get(s.sandboxId) ?? insideFailures.get(s.sandboxId);
      return results[i] ?? (failure === undefined ? undefined : new Error(`${s.network.ip} -batch: ${failure}`));
    });
  });
}

/**
 * What a failed `ip -force -batch` said (a failing line does not stop the next ones) about the host sides;
 * by sandbox id (`owners`: the sandbox of each line), what it said about the first of its lines that failed.
 */
function parseHostOutput(out: string, owners: string[]): Map<string, string> {
  const failures = new Map<string, string>();
  let said: string[] = [];
  for (const line of out.split('\n').map((l) => l.trim())) {
    // ip's "Command failed -:<line>" follows what it said about that line.
    const failed = /^Command failed -:(\d+)$/.exec(line);
    if (!failed) {
      if (line) said.push(line);
      continue;
    }
    const owner = owners[Number(failed[1]) - 1];
    if (owner && !failures.has(owner)) failures.set(owner, said.join('; ') || line);
    said = [];
  }
  // A failure ip tied to no line (it could not run at all) is every sandbox's.
  if (!failures.size) for (const owner of owners) failures.set(owner, said.join('; ') || 'ip failed');
  return failures;
}

export async function removeBridge(ip: string, bridge: string): Promise<void> {
  if (existsSync(`/sys/class/net/${bridge}`)) await run(ip, ['link', 'del', bridge]);
}

export function listNetns(prefix: string): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Bytes through a sandbox's veth, seen from the pod (the host end's rx is the pod's tx). */
export function vethCounters(veth: string): { rxBytes: number; txBytes: number } | undefined {
  try {
    const read = (name: string) => Number(readFileSync(`/sys/class/net/${veth}/statistics/${name}`, 'utf8'));
    return { rxBytes: read('tx_bytes'), txBytes: read('rx_bytes') };
  } catch {
    return undefined;
  }
}

function inRange(range: Cidr, address: string): boolean {
  const n = ipToNumber(address);
  return n >= range.base && n < range.base + range.size;
}
