/**
 * admission-limit-ranger: upstream's LimitRanger. Pods created in a namespace with LimitRanges get
 * their unset requests and limits from the defaults, then must keep within min, max and
 * maxLimitRequestRatio. See README.md and limit-ranger.ts.
 */
import {
  type AdmissionAttributes,
  cachedObjects,
  definePlugin,
  forbidden,
  isResource,
  type KubeObject,
} from '../../core/sdk.js';
import { applyDefaults, claimViolations, violations } from './limit-ranger.js';

export default definePlugin({
  name: 'admission-limit-ranger',
  description: "Defaults and bounds pod resources and bounds claim storage by LimitRanges (upstream's LimitRanger).",
  setup(ctx) {
    const objects = cachedObjects(ctx);
    // Upstream handles pods on create only (containers cannot change after, so updates need
    // nothing) and claims on create and update (a resize is checked too), never subresources.
    const isPod = (a: AdmissionAttributes) =>
      isResource(a, '', 'pods') && a.operation === 'CREATE' && !a.subresource && a.object !== undefined;
    const isClaim = (a: AdmissionAttributes) =>
      isResource(a, '', 'persistentvolumeclaims') && !a.subresource && a.object !== undefined;
    const limitRanges = (a: AdmissionAttributes) => objects.list('', 'v1', 'limitranges', a.namespace);
    // The LimitRanges admit() read, by the object it defaulted: validate() of the same request checks
    // against those same ranges instead of reading them again (and runs without awaiting anything).
    const readFor = new WeakMap<object, KubeObject[]>();

    function check(a: AdmissionAttributes, ranges: KubeObject[]): void {
      const problems: string[] = [];
      const of = isPod(a) ? violations : claimViolations;
      for (const lr of ranges) problems.push(...of(a.object!, lr));
      if (problems.length === 1) throw forbidden(a, problems[0]!);
      // Upstream's aggregate error: several problems print as a bracketed list.
      if (problems.length > 1) throw forbidden(a, `[${problems.join(', ')}]`);
    }

    ctx.provide.admission({
      name: 'LimitRanger',
      handles: (op) => op === 'CREATE' || op === 'UPDATE',
      async admit(a) {
        if (!isPod(a)) return;
        const ranges = await limitRanges(a);
        readFor.set(a.object!, ranges);
        for (const lr of ranges) applyDefaults(a.object!, lr);
      },
      validate(a) {
        if (!isPod(a) && !isClaim(a)) return;
        const ranges = readFor.get(a.object!);
        if (ranges) return check(a, ranges);
        return limitRanges(a).then((read) => check(a, read));
      },
    });
  },
});
