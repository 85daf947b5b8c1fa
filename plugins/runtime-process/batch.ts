/**
 * Group commit for host tools. Spawning a process from the runtime blocks Node's event loop for
 * a fork of the whole (large) process, so a hundred pods started at once paid for hundreds of
 * `mkfifo` and `ip` processes one after another. A Batch runs the first request 3 ms after it
 * came, with those that came meanwhile; the requests made while a run works wait and go together
 * in the next run, one process for all of them.
 */
import { lstatSync } from 'node:fs';
import { run } from './host.js';

interface Waiter<T, R> {
  item: T;
  resolve(value: R): void;
  reject(err: Error): void;
}

/** `work` does a whole batch and returns, per item in order, its result or the Error it failed with. */
export type BatchWork<T, R> = (items: T[]) => Promise<(R | Error)[]>;

/** How long a run waits for more requests once the first has come. */
const GATHER_MS = 3;

export class Batch<T, R = undefined> {
  private queue: Waiter<T, R>[] = [];
  private running = false;

  /** `max`: at most this many items a run, so the first ones can go on while the next run works. */
  constructor(
    private readonly work: BatchWork<T, R>,
    private readonly max = Number.POSITIVE_INFINITY,
  ) {}

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running) return;
      this.running = true;
      // Requests of the next few ms (pods whose steps end together) go in one run: a process less
      // each is worth more than the wait.
      setTimeout(() => void this.drain(), GATHER_MS);
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.max);
      let results: (R | Error)[];
      try {
        results = await this.work(batch.map((w) => w.item));
      } catch (err) {
        results = batch.map(() => err as Error);
      }
      for (const [i, w] of batch.entries()) {
        const result = results[i] as R | Error;
        if (result instanceof Error) w.reject(result);
        else w.resolve(result);
      }
    }
    this.running = false;
  }
}

function isFifo(path: string): boolean {
  try {
    return lstatSync(path).isFIFO();
  } catch {
    return false;
  }
}

const fifoBatches = new Map<string, Batch<string[]>>();

/**
 * `mkfifo -m 600` of `paths`, in one process with the FIFOs other containers ask for meanwhile.
 * A request fails when mkfifo names one of its paths or one of them is not a FIFO afterwards.
 */
export function makeFifos(mkfifo: string, paths: string[]): Promise<void> {
  let batch = fifoBatches.get(mkfifo);
  if (!batch) {
    batch = new Batch<string[]>(async (requests) => {
      const args = ['-m', '600', ...requests.flat()];
      const error = await run(mkfifo, args).then(
        () => undefined,
        // run's message is "<command>: <stderr>"; the command names every request's paths.
        (err: Error) => err.message.replace(`${mkfifo} ${args.join(' ')}: `, ''),
      );
      return requests.map((paths) => {
        if (paths.every((p) => isFifo(p) && !error?.includes(`'${p}'`))) return undefined;
        // Only what mkfifo said about this request's own paths.
        const said = (error ?? '').split('\n').filter((line) => paths.some((p) => line.includes(`'${p}'`)));
        return new Error(`${mkfifo} -m 600 ${paths.join(' ')}: ${said.join('; ') || 'not created'}`);
      });
    });
    fifoBatches.set(mkfifo, batch);
  }
  return batch.add(paths);
}
