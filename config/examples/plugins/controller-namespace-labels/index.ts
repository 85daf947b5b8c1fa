/** controller-namespace-labels: every new namespace gets the configured labels it lacks. See README.md. */
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, definePlugin, Informer, WorkQueue, z } from 'skiff/sdk';
import { labelValueErrors, qualifiedNameErrors } from 'skiff/sdk/api';

const NAMESPACES = CORE_V1('namespaces');
const is = (errors: (s: string) => string[]) => z.string().refine((s) => !errors(s).length, 'not a valid label');
async function labeller({ client, logger }: ControllerContext, wanted: Record<string, string>, signal: AbortSignal) {
  const [informer, queue] = [new Informer(client, NAMESPACES, logger), new WorkQueue()]; // informer keys: "/<name>"
  const work = async (name: string, ns = informer.items.get(`/${name}`) as Namespace | undefined) => {
    const labels = Object.fromEntries(Object.entries(wanted).filter(([k]) => ns && !ns.metadata?.labels?.[k]));
    if (Object.keys(labels).length) await client.patch(NAMESPACES, '', name, 'merge', { metadata: { labels } });
  };
  const watching = informer.run(signal, (type, ns) => type === 'ADDED' && queue.add(ns.metadata.name!));
  await Promise.all([watching, queue.run(signal, work, logger)]);
}
export default definePlugin<{ labels: Record<string, string> }>({
  name: 'controller-namespace-labels',
  description: 'Gives every new namespace the configured labels.',
  config: z.strictObject({ labels: z.record(is(qualifiedNameErrors), is(labelValueErrors)).default({ lab: 'yes' }) }),
  setup({ config, provide }) {
    // Controllers act as system:kube-controller-manager: grant that user this one's verbs on namespaces, no more.
    provide.authorizer(({ user, verb, apiGroup: g, resource: r, subresource: s }) =>
      /^system:kube-controller-manager (list|watch|patch) \/namespaces\/$/.test(`${user.name} ${verb} ${g}/${r}/${s}`)
        ? { decision: 'allow', reason: 'it labels namespaces' }
        : undefined,
    );
    provide.controller({ name: 'namespace-labels', create: (c) => ({ run: (s) => labeller(c, config.labels, s) }) });
  },
});
