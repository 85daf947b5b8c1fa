/** Admission attributes for tests that call admission chains or plugins directly. */
import type { AdmissionAttributes } from '../../core/auth-types.js';

/** A CREATE of pod `default/p` by bob. */
export function podCreateAttributes(): AdmissionAttributes {
  return {
    operation: 'CREATE',
    resource: { group: '', version: 'v1', resource: 'pods' },
    subresource: '',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'default',
    name: 'p',
    object: { metadata: { name: 'p', labels: {} } },
    user: { name: 'bob', groups: [] },
    dryRun: false,
  };
}
