/**
 * Container lifecycle hooks: postStart right after a container starts (a failure kills it, reason
 * FailedPostStartHook) and preStop before it is stopped (bounded by the grace period). exec runs
 * in the container, httpGet goes to the pod's address, sleep waits; upstream's messages.
 */
import type { Container, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeletContext } from './context.js';
import { podDescription } from './pod-state.js';
import { execCheck, httpCheck, resolvePort } from './probes/checks.js';

/** Runs a hook; resolves with undefined on success, or upstream's failure message. */
export async function runHook(
  ctx: KubeletContext,
  pod: Pod,
  container: Container,
  containerId: string,
  handler: LifecycleHandler,
  podIP: string,
  timeoutSeconds: number,
): Promise<string | undefined> {
  const where = `for Container "${container.name}" in Pod "${podDescription(pod)}"`;
  if (handler.exec) {
    const command = handler.exec.command ?? [];
    const r = await execCheck(ctx.runtime, containerId, command, timeoutSeconds);
    if (r.ok) return undefined;
    return `Exec lifecycle hook ([${command.join(' ')}]) ${where} failed - error: command '${command.join(' ')}' exited with non-zero code, message: ${JSON.stringify(r.output)}`;
  }
  if (handler.httpGet) {
    let port: number;
    try {
      port = resolvePort(handler.httpGet.port, container.ports);
    } catch (err) {
      return `HTTP lifecycle hook (${handler.httpGet.path ?? ''}) ${where} failed - error: ${(err as Error).message}, message: ""`;
    }
    const r = await httpCheck(handler.httpGet, podIP, port, timeoutSeconds);
    if (r.ok) return undefined;
    return `HTTP lifecycle hook (${handler.httpGet.path ?? ''}) ${where} failed - error: ${r.output}, message: ""`;
  }
  if (handler.sleep) {
    const ms = Math.min(handler.sleep.seconds, timeoutSeconds) * 1000;
    await new Promise((r) => setTimeout(r, ms));
  }
  return undefined;
}
