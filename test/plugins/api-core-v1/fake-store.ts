/**
 * An in-memory ObjectStore that runs a definition's strategy the way the generic store does, so
 * strategies and subresource handlers can be tested without a server.
 */
import type { KubeObject, ObjectStore, ResourceDefinition, StrategyContext } from '../../../core/api/types.js';
import { errors, StatusError } from '../../../core/errors.js';

/** Test bodies are read loosely, the way the API sees JSON. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary JSON
export type Json = any;

export function strategyContext(namespace = 'default', dryRun = false, subresource = ''): StrategyContext {
  return { namespace, dryRun, subresource };
}

export class FakeStore implements ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private revision = 10;
  /** The options of the last guaranteedUpdate, to check what subresource handlers ask for. */
  lastOptions?: Record<string, unknown>;

  constructor(readonly definition: ResourceDefinition) {}

  private key(namespace: string, name: string): string {
    return this.definition.namespaced ? `${namespace}/${name}` : name;
  }

  private qualified() {
    return { group: this.definition.group, resource: this.definition.plural };
  }

  /** Create through the strategy (defaults, prepareForCreate, validate), like the generic store. */
  async create(namespace: string, body: KubeObject): Promise<KubeObject> {
    const obj = structuredClone(body);
    if (this.definition.namespaced) obj.metadata.namespace = namespace;
    obj.metadata.uid ??= `uid-${obj.metadata.name}`;
    obj.metadata.creationTimestamp ??= '2024-01-01T00:00:00Z';
    const ctx = strategyContext(namespace);
    const strategy = this.definition.strategy ?? {};
    await strategy.defaults?.(obj, ctx);
    await strategy.prepareForCreate?.(obj, ctx);
    const errs = strategy.validate?.(obj, ctx) ?? [];
    if (errs.length) throw errors.invalid(this.definition.kind, this.definition.group, obj.metadata.name ?? '', errs);
    return this.put(obj);
  }

  /** Store as-is (test setup). */
  put(obj: KubeObject): KubeObject {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.revision);
    this.objects.set(this.key(stored.metadata.namespace ?? '', stored.metadata.name ?? ''), stored);
    return structuredClone(stored);
  }

  async get(namespace: string, name: string): Promise<KubeObject> {
    const obj = this.objects.get(this.key(namespace, name));
    if (!obj) throw errors.notFound(this.qualified(), name);
    return structuredClone(obj);
  }

  async guaranteedUpdate(
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    options: { dryRun?: boolean; expectedResourceVersion?: string; subresource?: string } = {},
  ): Promise<KubeObject> {
    this.lastOptions = options;
    const current = await this.get(namespace, name);
    if (options.expectedResourceVersion && options.expectedResourceVersion !== current.metadata.resourceVersion) {
      throw errors.staleResourceVersion(this.qualified(), name);
    }
    const mutated = await mutate(structuredClone(current));
    // A shallow copy, as the generic store's body check makes.
    const next: KubeObject = { ...mutated, metadata: { ...mutated.metadata } };
    const ctx = strategyContext(namespace, options.dryRun ?? false, options.subresource ?? '');
    const strategy = this.definition.strategy ?? {};
    if (!options.subresource) await strategy.defaults?.(next, ctx);
    if (!options.subresource) await strategy.prepareForUpdate?.(next, current, ctx);
    const errs = strategy.validateUpdate?.(next, current, ctx) ?? [];
    if (errs.length) throw errors.invalid(this.definition.kind, this.definition.group, name, errs);
    if (options.dryRun) return next;
    return this.put(next);
  }
}

/** The StatusError a promise rejects with (fails the test if it resolves or throws something else). */
export async function rejection(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error('expected a StatusError');
}
