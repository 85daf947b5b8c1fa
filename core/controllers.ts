/**
 * The controller manager's core: collects registrations from the registerControllers hook and
 * runs each controller until shutdown. A controller that fails is logged and restarted after a
 * back-off, so one broken controller cannot take the others down. Where the controllers run (in the
 * API server's process, or in `skiff controller-manager` over HTTPS) only changes their context.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { ControllerContext, ControllerRegistration, Hooks } from './hooks.js';

const RESTART_DELAY_MS = 5_000;

export class ControllerManager {
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly hooks: Hooks,
    private readonly logger: Logger,
    private readonly context: (controller: string) => ControllerContext,
  ) {
    // Every informer and work queue of every controller listens for the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
  }

  async start(): Promise<string[]> {
    const registrations: ControllerRegistration[] = [];
    await this.hooks.registerControllers.promise({ register: (r) => registrations.push(r) });
    for (const r of registrations) this.running.push(this.runForever(r));
    return registrations.map((r) => r.name);
  }

  private async runForever(r: ControllerRegistration): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      try {
        const controller = await r.create(this.context(r.name));
        await controller.run(signal);
      } catch (err) {
        if (signal.aborted) return;
        this.logger.error({ err, controller: r.name }, 'controller failed; restarting after a delay');
        await new Promise((res) => setTimeout(res, RESTART_DELAY_MS).unref());
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }
}
