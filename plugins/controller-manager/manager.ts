/**
 * The controller manager: takes the registrations the plugins made with ctx.provide.controller and
 * runs each controller until shutdown. A controller that fails is logged and restarted after a
 * back-off, so one broken controller cannot take the others down. Where the controllers run (in the
 * API server's process, or in `skiff controller-manager` over HTTPS) only changes their context.
 *
 * With leader election, several managers may share one store: the controllers run only while this
 * manager holds the lock, and stop (their signal aborts) when it loses it. The lock is a plugin's
 * (the LEADER_ELECTION service); without one, asking for leader election stops start-up.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { isStatusError, MissingProviderError, type ServiceKey, type SkiffError } from 'skiff/sdk';
import {
  type ApiClient,
  type ControllerContext,
  type ControllerRegistration,
  delay,
  LEADER_ELECTION,
  type LeaderElection,
  type LeaderElector,
  type LeaderElectorOptions,
} from 'skiff/sdk/client';

const RESTART_DELAY_MS = 5_000;
/** Controllers get no privilege from the core: a 403 means the chain does not grant their identity enough. */
const FORBIDDEN_FIX =
  "the authorization chain does not grant the controllers' identity (system:kube-controller-manager) what its roles " +
  'need: put the bootstrap roles in the chain (--authorization-mode=BootstrapRoles,...) or add the lines of ' +
  'config/examples/abac-policy-components.jsonl to the ABAC policy';

/** The User-Agent of the controllers' clients, in-process or not (`<this>/<controller>`): their field manager. */
export const CONTROLLER_MANAGER_AGENT = 'skiff-controller-manager';

/** The lease options (upstream --leader-elect-* flags); name defaults to kube-controller-manager. */
export type ControllerLeaderElection = Partial<Omit<LeaderElectorOptions, 'client' | 'logger'>> & {
  /** The client the lease is written with. Default: the controllers' client. */
  client?: ApiClient;
};

/** Where the registrations come from: ctx.api in-process, the component plugins in `skiff controller-manager`. */
export interface ControllerSource {
  controllers(): Promise<ControllerRegistration[]>;
}

export interface ControllerManagerOptions {
  /** Unset: the controllers run from start() to stop(), as a single manager. */
  leaderElection?: ControllerLeaderElection;
  /** The LEADER_ELECTION service (see leaderElectionService): needed with leaderElection. */
  electors?: LeaderElection;
}

/** --leader-elect with no plugin to provide the lock: the coded start-up error that says what to do. */
function noLeaderElection(): SkiffError {
  return new MissingProviderError(
    'SKIFF_PLUGIN_MISSING_PROVIDER',
    `--leader-elect is on, but no enabled plugin provides ${LEADER_ELECTION.id}`,
    LEADER_ELECTION,
    (provider) => `enable ${provider} under plugins in the config file, or pass --leader-elect=false`,
  );
}

/**
 * The LEADER_ELECTION service the plugins provide, or the start-up error saying how to get one
 * (core's explainMissingProvider names the plugins that provide it).
 */
export function leaderElectionService(use: <T>(key: ServiceKey<T>) => T): LeaderElection {
  try {
    return use(LEADER_ELECTION);
  } catch (err) {
    if (err instanceof MissingProviderError) throw noLeaderElection();
    throw err;
  }
}

export class ControllerManager {
  private readonly abort = new AbortController();
  private readonly running: Promise<void>[] = [];
  private readonly elector?: LeaderElector;

  constructor(
    private readonly source: ControllerSource,
    private readonly logger: Logger,
    private readonly context: (controller: string) => ControllerContext,
    options: ControllerManagerOptions = {},
  ) {
    // Every informer and work queue of every controller listens for the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
    const le = options.leaderElection;
    // Built here so that a bad option fails at construction, not at start.
    if (le) {
      if (!options.electors) throw noLeaderElection();
      this.elector = options.electors.elector({
        name: 'kube-controller-manager',
        // The manager stops its controllers before the lease is released, which is the condition
        // upstream sets for releaseOnCancel; so a graceful stop hands over at once by default.
        releaseOnCancel: true,
        ...le,
        client: le.client ?? context('leader-election').client,
        logger: logger.child({ component: 'leader-election' }),
      });
    }
  }

  /** The identity this manager campaigns as (undefined without leader election). */
  get identity(): string | undefined {
    return this.elector?.identity;
  }

  async start(): Promise<string[]> {
    const registrations = await this.source.controllers();
    const { signal } = this.abort;
    this.running.push(this.elector ? this.campaign(this.elector, registrations) : this.runAll(registrations, signal));
    return registrations.map((r) => r.name);
  }

  /** Upstream's kube-controller-manager exits when it loses the lease and is restarted; here the
   * manager stops its controllers and campaigns again, which comes to the same. */
  private async campaign(elector: LeaderElector, registrations: ControllerRegistration[]): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      await elector.run(signal, {
        onStartedLeading: (leading) => {
          this.logger.info({ identity: elector.identity }, 'leading: starting the controllers');
          return this.runAll(registrations, leading);
        },
        onStoppedLeading: () => this.logger.info({ identity: elector.identity }, 'not leading: controllers stopped'),
      });
    }
  }

  private async runAll(registrations: ControllerRegistration[], signal: AbortSignal): Promise<void> {
    await Promise.all(registrations.map((r) => this.runForever(r, signal)));
  }

  private async runForever(r: ControllerRegistration, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const controller = await r.create(this.context(r.name));
        await controller.run(signal);
      } catch (err) {
        if (signal.aborted) return;
        const fix = isStatusError(err) && err.code === 403 ? { fix: FORBIDDEN_FIX } : {};
        this.logger.error({ err, controller: r.name, ...fix }, 'controller failed; restarting after a delay');
        await delay(RESTART_DELAY_MS, signal);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }
}
