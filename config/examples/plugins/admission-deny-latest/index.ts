/** admission-deny-latest: pods must pin their images (a version tag or a digest), never `:latest` or no tag. */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { definePlugin, forbidden, isResource } from 'skiff/sdk';

/** No tag, or `latest`; a digest (`@sha256:…`) pins an image whatever its tag; `host:5000/app` has no tag. */
export function floatingTag(image: string): boolean {
  const tag = image.split('/').pop()!.split(':')[1];
  return !image.includes('@') && (tag === undefined || tag === 'latest');
}

const containers = ({ spec }: Pod = {}) => [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];

export default definePlugin({
  name: 'admission-deny-latest',
  description: 'Refuses pods whose container images have the :latest tag or no tag.',
  setup(ctx) {
    ctx.provide.admission({
      name: 'DenyLatestTag',
      handles: (operation) => operation === 'CREATE' || operation === 'UPDATE',
      validate(a) {
        if (!isResource(a, '', 'pods')) return;
        const kept = new Set(containers(a.oldObject as Pod).map((c) => c.image)); // an update may keep its old images
        const bad = containers(a.object as Pod).find((c) => floatingTag(c.image ?? '') && !kept.has(c.image));
        if (!bad) return;
        throw forbidden(a, `container "${bad.name}" image "${bad.image}" has no tag or the :latest tag; pin a version`);
      },
    });
  },
});
