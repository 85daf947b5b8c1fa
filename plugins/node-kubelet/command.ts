/**
 * `skiff kubelet`: one node in its own process, talking to the API server over HTTPS with a
 * kubeconfig, as upstream's kubelet (run-kubelet.ts runs it; this file only declares the command,
 * which every start of the CLI reads). `--config DIR` is the seed's manifest directory
 * (--pod-manifest-path); `--config FILE` is Skiff's config file.
 */
import { Command, InvalidArgumentError, Option } from 'skiff/sdk/cli';
import { KUBELET_FLAGS } from './config.js';

/** Simulated nodes cost 10–25 KB each idle (the goal: ≤ 100 KB); 10,000 in one process is a sane ceiling. */
const MAX_NODES = 10_000;

function nodeCount(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_NODES) {
    throw new InvalidArgumentError(`expected a whole number of nodes from 1 to ${MAX_NODES}`);
  }
  return n;
}

export type FlagAttributes = [string, (typeof KUBELET_FLAGS)[number]][];

export function kubeletCommand(): Command {
  const command = new Command('kubelet')
    .description('run one node (a kubelet) in its own process, against an API server over HTTPS')
    .option('--kubeconfig <file>', 'how to reach the API server, and who this node is (system:node:<name>)')
    .option('--config <path>', "a directory: static pod manifests (the seed's --config); a file: Skiff's config file")
    .option('--data-dir <dir>', 'default parent of --root-dir (default: ./data, or server.dataDir in the config)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info')
    .option('--nodes <n>', 'with --runtime simulated: how many nodes this process runs (default 1)', nodeCount)
    .option('--name-prefix <prefix>', 'with --nodes: the nodes are <prefix>0 … <prefix>N-1 (default <node name>-)');
  const attributes: FlagAttributes = [];
  for (const spec of KUBELET_FLAGS) {
    if (!spec.roles?.includes('kubelet')) continue;
    const option = new Option(spec.flag, spec.help);
    if (spec.parse) option.argParser(spec.parse as (raw: string) => unknown);
    command.addOption(option);
    attributes.push([option.attributeName(), spec]);
  }
  return command.action(async (opts: Record<string, unknown>) => {
    const { runKubelet } = await import('./run-kubelet.js');
    await runKubelet(opts as never, attributes);
  });
}
