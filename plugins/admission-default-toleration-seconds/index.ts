/**
 * admission-default-toleration-seconds: upstream's DefaultTolerationSeconds admission plugin. A
 * pod that tolerates neither node.kubernetes.io/not-ready nor node.kubernetes.io/unreachable
 * (NoExecute) gets a toleration of each for 300 seconds, so its node's failure evicts it after five
 * minutes rather than at once. See README.md.
 */
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { type AdmissionAttributes, definePlugin, isResource } from 'skiff/sdk';
import { InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

const configSchema = z
  .object({
    /** Upstream's --default-not-ready-toleration-seconds. */
    defaultNotReadyTolerationSeconds: z.number().int().min(0).default(300),
    /** Upstream's --default-unreachable-toleration-seconds. */
    defaultUnreachableTolerationSeconds: z.number().int().min(0).default(300),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

/** Upstream's test: a toleration of that key (or of every key) for NoExecute (or every effect). */
const tolerates = (tolerations: readonly Toleration[], key: string) =>
  tolerations.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));

function seconds(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
}

export function addDefaultTolerations(a: AdmissionAttributes, config: Config): void {
  const spec = (a.object!.spec ?? {}) as { tolerations?: Toleration[] };
  const tolerations = Array.isArray(spec.tolerations) ? [...spec.tolerations] : [];
  const wanted: [string, number][] = [
    [NOT_READY, config.defaultNotReadyTolerationSeconds],
    [UNREACHABLE, config.defaultUnreachableTolerationSeconds],
  ];
  let added = false;
  for (const [key, tolerationSeconds] of wanted) {
    if (tolerates(tolerations, key)) continue;
    tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds });
    added = true;
  }
  if (added) a.object!.spec = { ...spec, tolerations };
}

export default definePlugin<Config>({
  name: 'admission-default-toleration-seconds',
  description:
    'Gives pods 300-second tolerations of the not-ready and unreachable taints (upstream DefaultTolerationSeconds).',
  config: configSchema,
  admissionName: 'DefaultTolerationSeconds',
  // Upstream's AllOrderedPlugins: after Priority, before PodTolerationRestriction.
  admissionOrder: 14,
  flags: [
    {
      flag: '--default-not-ready-toleration-seconds <seconds>',
      help: 'tolerationSeconds of the not-ready toleration added to pods without one (default 300)',
      parse: seconds,
      toConfig: (defaultNotReadyTolerationSeconds) => ({ defaultNotReadyTolerationSeconds }),
    },
    {
      flag: '--default-unreachable-toleration-seconds <seconds>',
      help: 'tolerationSeconds of the unreachable toleration added to pods without one (default 300)',
      parse: seconds,
      toConfig: (defaultUnreachableTolerationSeconds) => ({ defaultUnreachableTolerationSeconds }),
    },
  ],
  setup(ctx) {
    ctx.provide.admission({
      name: 'DefaultTolerationSeconds',
      handles: (op) => op === 'CREATE' || op === 'UPDATE',
      admit(a) {
        if (!isResource(a, '', 'pods') || !a.object) return;
        addDefaultTolerations(a, ctx.config);
      },
    });
  },
});
