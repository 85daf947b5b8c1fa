/**
 * `skiff proxy`: the kube-proxy role in its own process, talking to the API server over HTTPS as
 * system:kube-proxy, with upstream kube-proxy's flags where they apply (--kubeconfig, --master,
 * --proxy-mode userspace, --bind-address, --nodeport-addresses, --healthz-bind-address,
 * --metrics-bind-address, --hostname-override, --udp-timeout).
 */
import { Command, InvalidArgumentError, Option } from 'skiff/sdk/cli';
import { PROXY_FLAGS } from './config.js';

export type FlagAttributes = [string, (typeof PROXY_FLAGS)[number]][];

function proxyMode(raw: string): string {
  if (raw !== 'userspace' && raw !== '') {
    throw new InvalidArgumentError(
      `proxy mode "${raw}" is not offered: Skiff's proxy is userspace (listening sockets), not iptables or ipvs`,
    );
  }
  return 'userspace';
}

export function proxyCommand(): Command {
  const command = new Command('proxy')
    .description(
      'run the service proxy (kube-proxy, userspace mode) in its own process, against an API server over HTTPS',
    )
    .option(
      '--kubeconfig <file>',
      "how to reach the API server as system:kube-proxy (default: a client certificate from the PKI under --data-dir and the admin kubeconfig's server)",
    )
    .option('--master <url>', "the API server's address; overrides the kubeconfig's")
    .option('--proxy-mode <mode>', 'userspace (the only mode)', proxyMode, 'userspace')
    .option('--bind-address <ip>', 'accepted for compatibility: each ClusterIP is listened on itself', '0.0.0.0')
    .option(
      '--config <file>',
      'the Skiff config file (its proxy-userspace and api-core-v1 blocks; default config/default.yaml)',
    )
    .option('--data-dir <dir>', 'data directory holding the PKI (default: server.dataDir of the config)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info');
  const attributes: FlagAttributes = [];
  for (const spec of PROXY_FLAGS) {
    const option = new Option(spec.flag, spec.help);
    if (spec.parse) option.argParser(spec.parse as (raw: string) => unknown);
    command.addOption(option);
    attributes.push([option.attributeName(), spec]);
  }
  return command.action(async (opts: Record<string, unknown>) => {
    const { runProxy } = await import('./run-proxy.js');
    await runProxy(opts as never, attributes);
  });
}
