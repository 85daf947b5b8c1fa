/**
 * The two static pod sources of the seed's 3.4.2: a directory of manifests (--pod-manifest-path,
 * the seed's --config dir) read every --file-check-frequency and on file system events, and a URL
 * (--manifest-url) fetched every --http-check-frequency. A manifest is YAML or JSON, one or more
 * documents, each a Pod or a List of Pods. Each read hands the whole set to `publish`; a source
 * that cannot be read keeps what it had (a URL that is down does not stop its pods).
 */
import { type FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { ManifestError, toStaticPod } from './static-pods.js';

export type Publish = (pods: Pod[]) => void;

/** The documents of a manifest text; Lists are flattened. */
export function manifestDocuments(text: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length) throw new ManifestError(doc.errors[0]!.message.split('\n')[0]!);
    const value = doc.toJS() as { kind?: string; items?: unknown[] } | null;
    if (value === null || value === undefined) continue;
    if (value.kind === 'List' || value.kind === 'PodList') out.push(...(value.items ?? []));
    else out.push(value);
  }
  return out;
}

function podsOf(text: string, nodeName: string, source: 'file' | 'http', origin: string, logger: Logger): Pod[] {
  const pods: Pod[] = [];
  for (const [i, doc] of manifestDocuments(text).entries()) {
    try {
      pods.push(toStaticPod(doc, nodeName, source, `${origin}#${i}`));
    } catch (err) {
      logger.warn({ origin, document: i, err: (err as Error).message }, 'static pod manifest ignored');
    }
  }
  return pods;
}

abstract class PeriodicSource {
  private timer?: NodeJS.Timeout;
  protected stopped = false;

  constructor(
    protected readonly nodeName: string,
    protected readonly periodSeconds: number,
    protected readonly publish: Publish,
    protected readonly logger: Logger,
  ) {}

  protected abstract read(): Promise<Pod[] | undefined>;

  /** Reads now, then every period; resolves after the first read. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  protected async refresh(): Promise<void> {
    if (this.stopped) return;
    const pods = await this.read().catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message }, 'static pod source unreadable; keeping its pods');
      return undefined;
    });
    if (pods && !this.stopped) this.publish(pods);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.periodSeconds * 1000);
    this.timer.unref?.();
  }
}

export class FileSource extends PeriodicSource {
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    ...rest: ConstructorParameters<typeof PeriodicSource>
  ) {
    super(...rest);
  }

  override async start(): Promise<void> {
    await super.start();
    try {
      this.watcher = watch(this.path, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.refresh(), 100);
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // Not there yet: the periodic read notices when it appears.
    }
  }

  override stop(): void {
    super.stop();
    clearTimeout(this.debounce);
    this.watcher?.close();
  }

  protected async read(): Promise<Pod[]> {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    if (!stat) return [];
    const files = stat.isDirectory()
      ? readdirSync(this.path)
          .filter((f) => !f.startsWith('.'))
          .sort()
          .map((f) => join(this.path, f))
      : [this.path];
    return files.flatMap((file) => {
      if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return [];
      return podsOf(readFileSync(file, 'utf8'), this.nodeName, 'file', file, this.logger);
    });
  }
}

export class UrlSource extends PeriodicSource {
  constructor(
    private readonly url: string,
    ...rest: ConstructorParameters<typeof PeriodicSource>
  ) {
    super(...rest);
  }

  protected async read(): Promise<Pod[] | undefined> {
    const res = await fetch(this.url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${this.url}: HTTP ${res.status}`);
    return podsOf(await res.text(), this.nodeName, 'http', this.url, this.logger);
  }
}
