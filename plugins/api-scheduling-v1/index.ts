/**
 * api-scheduling-v1: scheduling.k8s.io/v1 PriorityClass, with upstream's validation, the two
 * system classes (system-cluster-critical, system-node-critical) created at start and protected
 * from deletion. The Priority admission plugin (admission-priority) turns a pod's
 * priorityClassName into its spec.priority. See README.md.
 */
import { type AdmissionAttributes, definePlugin, forbidden, isResource, isStatusError } from 'skiff/sdk';
import { priorityClassDefinition, SYSTEM_PRIORITY_CLASSES, systemClassObject } from './priority-class.js';

const PRIORITY_CLASSES = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' };

/** Upstream's REST Delete refuses the system classes; Skiff's store has no such hook, so admission does. */
function refuseSystemClassDelete(a: AdmissionAttributes): undefined {
  if (!isResource(a, 'scheduling.k8s.io', 'priorityclasses')) return undefined;
  if (SYSTEM_PRIORITY_CLASSES.some((c) => c.name === a.name)) {
    throw forbidden(a, 'this is a system priority class and cannot be deleted');
  }
  return undefined;
}

export default definePlugin({
  name: 'api-scheduling-v1',
  description: 'scheduling.k8s.io/v1 PriorityClass, with the system-cluster-critical and system-node-critical classes.',
  setup(ctx) {
    ctx.provide.resource(priorityClassDefinition);
    ctx.provide.admission({
      name: 'PriorityClassSystemProtection',
      handles: (op) => op === 'DELETE',
      validate: refuseSystemClassDelete,
    });
    ctx.provide.bootstrap('system-priority-classes', async (client) => {
      for (const c of SYSTEM_PRIORITY_CLASSES) {
        try {
          await client.create(PRIORITY_CLASSES, '', systemClassObject(c));
        } catch (err) {
          if (!isStatusError(err) || err.code !== 409) throw err;
        }
      }
    });
  },
});
