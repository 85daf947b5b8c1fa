/**
 * api-patch-json: PATCH with Content-Type application/json-patch+json (RFC 6902, `kubectl patch
 * --type json`), as upstream applies it. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { jsonPatchType } from './json-patch-type.js';

export default definePlugin({
  name: 'api-patch-json',
  description: 'JSON patch (RFC 6902): PATCH application/json-patch+json, kubectl patch --type json.',
  setup(ctx) {
    ctx.provide.patchType(jsonPatchType);
  },
});
