/**
 * admission-limit-ranger: upstream's LimitRanger. Pods created in a namespace with LimitRanges get
 * their unset requests and limits from the defaults, then must keep within min, max and
 * maxLimitRequestRatio. See README.md and limit-ranger.ts.
 */
import { type AdmissionAttributes, definePlugin, forbidden, isResource, type KubeObject } from 'skiff/sdk';
import { applyDefaults, claimViolations, violations } from './limit-ranger.js';

export default definePlugin({
  name: 'admission-limit-ranger',
  description: "Defaults and bounds pod resources and bounds claim storage by LimitRanges (upstream's LimitRanger).",
  admissionName: 'LimitRanger',
  admissionOrder: 5,
  setup(ctx) {
    const objects = ctx.api.cached;
    // Upstream handles pods on create only (containers cannot change after, so updates need
    // nothing) and claims on create and update (a resize is checked too), never subresources.
    const isPod = (a: AdmissionAttributes) =>
      isResource(a, '', 'pods') && a.operation === 'CREATE' && !a.subresource && a.object !== undefined;
    const isClaim = (a: AdmissionAttributes) =>
      isResource(a, '', 'persistentvolumeclaims') && !a.subresource && a.object !== undefined;
    // As upstream: the cache's LimitRanges, or a live lookup when it has none (synchronous when
    // the cache answers, so the plugin is).
    const limitRanges = (a: AdmissionAttributes) => objects.listOrLookup('', 'v1', 'limitranges', a.namespace);

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
      admit(a) {
        if (!isPod(a)) return undefined;
        return withRanges(a, limitRanges(a), defaultAll);
      },
      validate(a) {
        if (!isPod(a) && !isClaim(a)) return undefined;
        return withRanges(a, limitRanges(a), check);
      },
    });
  },
});

type RangesStep = (a: AdmissionAttributes, ranges: KubeObject[]) => void;

/** Runs `step` at once when the cache answered, after the lookup otherwise. */
function withRanges(
  a: AdmissionAttributes,
  ranges: KubeObject[] | Promise<KubeObject[]>,
  step: RangesStep,
): Promise<void> | undefined {
  if (!Array.isArray(ranges)) return ranges.then((read) => step(a, read));
  step(a, ranges);
  return undefined;
}

function defaultAll(a: AdmissionAttributes, ranges: KubeObject[]): void {
  for (const lr of ranges) applyDefaults(a.object!, lr);
}
