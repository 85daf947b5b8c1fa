/** Skipping a test out loud: a silent skip would hide a tool the machine lacks. */

/** Prints why, then skips the test or suite (`this` of a mocha function). */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  console.warn(`      SKIPPED: ${reason}`);
  ctx.skip();
}

export const NO_KUBECTL = 'kubectl is not installed (bash .ci/run installs it)';
export const NO_KUBECTL_120 =
  'kubectl 1.20 is not unpacked in .cache/kubectl-1.20 (bash .ci/run does it: apt-get download kubernetes-client; dpkg -x)';
export const NOT_ROOT = 'needs root: network namespaces, links and routes (CI runs as root)';
