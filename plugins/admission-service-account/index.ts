/**
 * admission-service-account: upstream's ServiceAccount admission plugin. A pod that names no
 * account gets `default`; a pod whose account does not exist is refused; unless automounting is
 * turned off, the account's token is mounted as a projected volume. See README.md.
 */
import {
  type AdmissionAttributes,
  definePlugin,
  forbidden,
  generateNameSuffix,
  isResource,
  type KubeObject,
} from 'skiff/sdk';

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const MIRROR_POD = 'kubernetes.io/config.mirror';

type Fields = Record<string, unknown>;
const fields = (v: unknown): Fields => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : {});
// Objects are returned as they are (not copied), so changing them changes the pod.
const list = (v: unknown): Fields[] => (Array.isArray(v) ? v.map(fields) : []);

export default definePlugin({
  name: 'admission-service-account',
  description: "Gives pods a service account and mounts its token (upstream's ServiceAccount admission).",
  admissionName: 'ServiceAccount',
  admissionOrder: 6,
  setup(ctx) {
    const objects = ctx.api.cached;

    function admit(a: AdmissionAttributes): Promise<void> | undefined {
      if (!isResource(a, '', 'pods') || !a.object || isMirrorPod(a.object)) return undefined;
      const spec = fields(a.object.spec);
      a.object.spec = spec;
      if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
      const name = String(spec.serviceAccountName);
      // As upstream: the cache first, a live lookup when it does not have the account (yet).
      const cached = objects.peek('', 'v1', 'serviceaccounts', a.namespace, name);
      if (cached) return withAccount(a, spec, name, cached);
      return objects
        .get('', 'v1', 'serviceaccounts', a.namespace, name)
        .then((account) => withAccount(a, spec, name, account));
    }

    ctx.provide.admission({ name: 'ServiceAccount', handles: (op) => op === 'CREATE', admit });
  },
});

function withAccount(a: AdmissionAttributes, spec: Fields, name: string, account: KubeObject | undefined): undefined {
  if (!account) {
    throw forbidden(a, `error looking up service account ${a.namespace}/${name}: serviceaccount "${name}" not found`);
  }
  if (shouldAutomount(account, spec)) mountToken(spec);
  return undefined;
}

function isMirrorPod(pod: KubeObject): boolean {
  return pod.metadata.annotations?.[MIRROR_POD] !== undefined;
}

/** The pod's own setting wins, then the account's; the default is to mount. */
function shouldAutomount(account: KubeObject, spec: Fields): boolean {
  if (typeof spec.automountServiceAccountToken === 'boolean') return spec.automountServiceAccountToken;
  if (typeof account.automountServiceAccountToken === 'boolean') return account.automountServiceAccountToken;
  return true;
}

/** Upstream's kube-api-access-xxxxx volume: a bound token, the cluster CA and the namespace. */
function mountToken(spec: Fields): void {
  const containers = [...list(spec.initContainers), ...list(spec.containers)];
  const needing = containers.filter((c) => !list(c.volumeMounts).some((m) => m.mountPath === TOKEN_MOUNT_PATH));
  if (needing.length === 0) return;
  const volumeName = `kube-api-access-${generateNameSuffix()}`;
  spec.volumes = [...list(spec.volumes), tokenVolume(volumeName)];
  for (const c of needing) {
    c.volumeMounts = [...list(c.volumeMounts), { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
  }
}

function tokenVolume(name: string): Fields {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
}
