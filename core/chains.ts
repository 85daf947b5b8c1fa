/**
 * The semantics of each chain. Kept apart from the hook declarations so that the rules a reader
 * must learn (which answer wins, what happens on error) live in one short file.
 */
import type { FullTap } from 'tapable';
import { bearerToken } from './auth/headers.js';
import type {
  AdmissionAttributes,
  Authenticated,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationAttributes,
  AuthorizationDecision,
  RuleResolver,
  SubjectRules,
  UserInfo,
} from './auth-types.js';
import { errors, isStatusError } from './errors.js';
import type { Hooks } from './hooks.js';

type TapFn<A extends unknown[], R> = (...args: A) => R | Promise<R>;

// Taps only change while plugins set up; cache the runnable list per hook until they do.
const tapCache = new WeakMap<object, { length: number; list: { name: string; fn: unknown }[] }>();

function tapsOf<A extends unknown[], R>(hook: { taps: FullTap[] }): { name: string; fn: TapFn<A, R> }[] {
  const cached = tapCache.get(hook);
  if (cached && cached.length === hook.taps.length) return cached.list as { name: string; fn: TapFn<A, R> }[];
  const list = hook.taps.map((t) => {
    if (t.type === 'async') throw new Error(`hook tap "${t.name}" uses tapAsync; use tap or tapPromise`);
    return { name: t.name, fn: t.fn as TapFn<A, R> };
  });
  tapCache.set(hook, { length: hook.taps.length, list });
  return list;
}

export interface AuthenticationOutcome {
  result?: Authenticated;
  /** Why each authenticator refused or failed: for the server log only, never the client. */
  refusals: { authenticator: string; reason: string }[];
}

const ANONYMOUS = 'system:anonymous';

/**
 * The authentication union: every authenticator is tried until one identifies the user.
 * Anonymous is upstream's fallback around the union, not a member of it: its answer is kept aside
 * and used only when nobody else identified the user and the request carried no credentials that
 * failed (a refusal, or a bearer token no authenticator recognised), wherever it sits in the order.
 */
export async function runAuthentication(hooks: Hooks, request: AuthenticationRequest): Promise<AuthenticationOutcome> {
  const refusals: AuthenticationOutcome['refusals'] = [];
  let anonymous: Authenticated | undefined;
  for (const tap of tapsOf<[AuthenticationRequest], AuthenticationResult>(hooks.authenticate)) {
    try {
      const answer = await tap.fn(request);
      if (!answer) continue;
      if ('user' in answer) {
        if (answer.user.name === ANONYMOUS) {
          anonymous ??= { user: answer.user, authenticator: tap.name };
          continue;
        }
        const groups = answer.user.groups.includes('system:authenticated')
          ? answer.user.groups
          : [...answer.user.groups, 'system:authenticated'];
        return { result: { user: { ...answer.user, groups }, authenticator: tap.name }, refusals };
      }
      refusals.push({ authenticator: tap.name, reason: answer.error });
    } catch (err) {
      refusals.push({ authenticator: tap.name, reason: `failed: ${(err as Error).message}` });
    }
  }
  // Upstream's bearer-token authenticator: a token that no token authenticator recognised is an
  // error ("invalid bearer token"), even when each of them only said "not mine".
  if (refusals.length === 0 && bearerToken(request.headers) !== undefined) {
    refusals.push({ authenticator: 'bearer-token', reason: 'invalid bearer token: no authenticator recognised it' });
  }
  return anonymous && refusals.length === 0 ? { result: anonymous, refusals } : { refusals };
}

/**
 * Three-valued authorization: the first allow or deny decides; an error counts as no opinion. When
 * nobody decides, the authorizers' own no-opinion reasons are kept for the refusal, as upstream's
 * union authorizer keeps them (AlwaysDeny's "Everything is forbidden." is one).
 */
export async function runAuthorization(
  hooks: Hooks,
  attributes: AuthorizationAttributes,
): Promise<AuthorizationDecision> {
  const reasons: string[] = [];
  const shown: string[] = [];
  for (const tap of tapsOf<[AuthorizationAttributes], AuthorizationDecision | undefined>(hooks.authorize)) {
    try {
      const answer = await tap.fn(attributes);
      if (answer && answer.decision !== 'no-opinion') return { ...answer, authorizer: tap.name };
      if (answer?.reason) {
        reasons.push(`${tap.name}: ${answer.reason}`);
        shown.push(answer.reason);
      }
    } catch (err) {
      reasons.push(`${tap.name}: error: ${(err as Error).message}`);
    }
  }
  const decision: AuthorizationDecision = {
    decision: 'no-opinion',
    reason: reasons.join('; ') || 'no authorizer had an opinion',
  };
  if (shown.length > 0) decision.noOpinionReason = shown.join('\n');
  return decision;
}

/**
 * Admission: every mutating plugin in order, then every validating plugin in order. The first
 * error rejects. A plugin that throws something other than a StatusError is a bug in that plugin:
 * it becomes an InternalError that names it.
 */
export async function runAdmission(hooks: Hooks, attributes: AdmissionAttributes): Promise<void> {
  await runAdmissionPhase(hooks, 'mutating', attributes);
  await runAdmissionPhase(hooks, 'validating', attributes);
}

/**
 * One phase of admission. The generic store runs them apart, as upstream does: mutating before the
 * kind's validation, validating after it, so validating plugins see the final object.
 * Undefined when every plugin answered at once (most only look at the object), else a promise: a
 * write through a chain of synchronous plugins then waits for nothing.
 */
export function runAdmissionPhase(
  hooks: Hooks,
  phase: 'mutating' | 'validating',
  attributes: AdmissionAttributes,
): Promise<void> | undefined {
  const hook = phase === 'mutating' ? hooks.admitMutating : hooks.admitValidating;
  return runAdmissionFrom(tapsOf<[AdmissionAttributes], void>(hook), 0, attributes);
}

function runAdmissionFrom(
  taps: { name: string; fn: TapFn<[AdmissionAttributes], void> }[],
  start: number,
  attributes: AdmissionAttributes,
): Promise<void> | undefined {
  for (let i = start; i < taps.length; i++) {
    const tap = taps[i]!;
    let pending: void | Promise<void>;
    try {
      pending = tap.fn(attributes);
    } catch (err) {
      throw admissionFailure(tap.name, err);
    }
    if (pending) {
      return pending.then(
        () => runAdmissionFrom(taps, i + 1, attributes),
        (err: unknown) => {
          throw admissionFailure(tap.name, err);
        },
      );
    }
  }
  return undefined;
}

/** A StatusError is the plugin's answer; anything else is a bug in the plugin, named. */
function admissionFailure(name: string, err: unknown): unknown {
  if (isStatusError(err)) return err;
  return errors.internal(`admission plugin "${name}" failed: ${(err as Error).message}`);
}

export interface ListedRules extends SubjectRules {
  /** Authorizers in the chain that cannot list rules: the listing is incomplete when any are named. */
  unlisted: string[];
}

/**
 * What a user may do in a namespace, from every authorizer of the chain in order (upstream's
 * SelfSubjectRulesReview): each one's rules are added; one without a rule lister is named instead.
 */
export function listRules(
  hooks: Hooks,
  resolvers: ReadonlyMap<string, RuleResolver | undefined>,
  user: UserInfo,
  namespace: string,
): ListedRules {
  const out: ListedRules = { resourceRules: [], nonResourceRules: [], unlisted: [] };
  for (const tap of hooks.authorize.taps) {
    const resolve = resolvers.get(tap.name);
    if (!resolve) {
      out.unlisted.push(tap.name);
      continue;
    }
    const rules = resolve(user, namespace);
    out.resourceRules.push(...rules.resourceRules);
    out.nonResourceRules.push(...rules.nonResourceRules);
  }
  return out;
}

/** The names in each chain, in the order they run: printed at start and by `skiff config check`. */
export function describeChains(hooks: Hooks): Record<string, string[]> {
  return {
    authentication: hooks.authenticate.taps.map((t) => t.name),
    authorization: hooks.authorize.taps.map((t) => t.name),
    'admission (mutating)': hooks.admitMutating.taps.map((t) => t.name),
    'admission (validating)': hooks.admitValidating.taps.map((t) => t.name),
  };
}
