/**
 * api-patch-strategic-merge: PATCH with Content-Type application/merge-patch+json (RFC 7386) and
 * application/strategic-merge-patch+json (Kubernetes strategic merge patch). See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { mergePatchType } from './merge-patch.js';
import { strategicMergePatchType } from './strategic-merge.js';

export default definePlugin({
  name: 'api-patch-strategic-merge',
  description:
    'JSON merge patch and strategic merge patch: kubectl label, annotate, edit, client-side apply and patch.',
  setup(ctx) {
    ctx.provide.patchType(mergePatchType);
    ctx.provide.patchType(strategicMergePatchType);
  },
});
