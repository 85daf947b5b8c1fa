/**
 * api-server-side-apply: server-side apply (PATCH application/apply-patch+yaml, `kubectl apply
 * --server-side`) and field ownership (metadata.managedFields) on every write. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { fieldManager } from './field-manager.js';

export default definePlugin({
  name: 'api-server-side-apply',
  description: 'Server-side apply (kubectl apply --server-side) and metadata.managedFields on every write.',
  setup(ctx) {
    ctx.provide.fieldManager(fieldManager);
  },
});
