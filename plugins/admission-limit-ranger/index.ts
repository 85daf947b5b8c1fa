/**
 * admission-limit-ranger: upstream's LimitRanger. Pods created in a namespace with LimitRanges get
 * their unset requests and limits from the defaults, then must keep within min, max and
 * maxLimitRequestRatio. See README.md and limit-ranger.ts.
 */
import { type AdmissionAttributes, cachedObjects, definePlugin, forbidden, isResource } from '../../core/sdk.js';
import { applyDefaults, violations } from './limit-ranger.js';

export default definePlugin({
  name: 'admission-limit-ranger',
  description: "Defaults and bounds pod resources from the namespace's LimitRanges (upstream's LimitRanger).",
  setup(ctx) {
    const objects = cachedObjects(ctx);
    // Upstream handles pods on create only: containers cannot change after, so updates need nothing.
    const applies = (a: AdmissionAttributes) => isResource(a, '', 'pods') && a.object !== undefined;
    const limitRanges = (a: AdmissionAttributes) => objects.list('', 'v1', 'limitranges', a.namespace);

    ctx.provide.admission({
      name: 'LimitRanger',
      handles: (op) => op === 'CREATE',
      async admit(a) {
        if (!applies(a)) return;
        for (const lr of await limitRanges(a)) applyDefaults(a.object!, lr);
      },
      async validate(a) {
        if (!applies(a)) return;
        const problems = (await limitRanges(a)).flatMap((lr) => violations(a.object!, lr));
        if (problems.length === 1) throw forbidden(a, problems[0]!);
        // Upstream's aggregate error: several problems print as a bracketed list.
        if (problems.length > 1) throw forbidden(a, `[${problems.join(', ')}]`);
      },
    });
  },
});
