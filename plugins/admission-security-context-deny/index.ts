/**
 * admission-security-context-deny: upstream's SecurityContextDeny. Refuses pods that ask for a
 * user, SELinux context or extra groups of their own choosing. See README.md.
 */
import { type AdmissionAttributes, definePlugin, forbidden, isResource, type KubeObject } from 'skiff/sdk';

type Fields = Record<string, unknown>;
const objectAt = (v: unknown): Fields | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : undefined;
const isSet = (v: unknown) => v !== undefined && v !== null;
/** The pod-level fields refused, in upstream's order, with the Go names its messages use. */
const POD_FIELDS = [
  ['supplementalGroups', 'SupplementalGroups'],
  ['seLinuxOptions', 'SELinuxOptions'],
  ['runAsUser', 'RunAsUser'],
  ['fsGroup', 'FSGroup'],
] as const;

/** The first refused field, in upstream's order, or undefined when the pod is acceptable. */
export function refusedField(pod: KubeObject): string | undefined {
  const spec = objectAt(pod.spec) ?? {};
  const podContext = objectAt(spec.securityContext);
  if (podContext) {
    for (const [key, goName] of POD_FIELDS) {
      if (isSet(podContext[key])) return `pod.Spec.SecurityContext.${goName} is forbidden`;
    }
  }
  for (const list of [spec.initContainers, spec.containers]) {
    for (const container of Array.isArray(list) ? list : []) {
      const context = objectAt(objectAt(container)?.securityContext);
      if (!context) continue;
      if (isSet(context.seLinuxOptions)) return 'SecurityContext.SELinuxOptions is forbidden';
      if (isSet(context.runAsUser)) return 'SecurityContext.RunAsUser is forbidden';
    }
  }
  return undefined;
}

export default definePlugin({
  name: 'admission-security-context-deny',
  description:
    "Refuses pods that set runAsUser, seLinuxOptions, supplementalGroups or fsGroup (upstream's SecurityContextDeny).",
  admissionName: 'SecurityContextDeny',
  // Gone from upstream's list in 1.30; Skiff keeps it where --enable-admission-plugins always ran it: after ServiceAccount.
  admissionOrder: 6.5,
  setup(ctx) {
    ctx.logger.warn(
      'SecurityContextDeny is deprecated upstream (removed in 1.30) in favour of Pod Security admission; it is kept here for the seed and for teaching',
    );
    ctx.provide.admission({
      name: 'SecurityContextDeny',
      handles: (op) => op === 'CREATE' || op === 'UPDATE',
      validate: (a: AdmissionAttributes) => {
        if (!isResource(a, '', 'pods') || !a.object) return;
        const refused = refusedField(a.object);
        if (refused) throw forbidden(a, refused);
      },
    });
  },
});
