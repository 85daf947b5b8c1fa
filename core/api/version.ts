/** The Kubernetes version whose API Skiff serves: /version reports it, deprecations are measured against it. */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0' };
