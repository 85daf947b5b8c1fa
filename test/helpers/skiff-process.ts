/** The skiff bin as a real child process: its JSON log lines, a bounded wait for one, and its exit. */
import { type ChildProcess, spawn } from 'node:child_process';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;

export interface SkiffProcess {
  child: ChildProcess;
  /** Every log line so far, parsed (pino JSON); lines that are not JSON as { msg }. */
  lines: Record<string, unknown>[];
  /** Resolves with the first line (old or new) that `match` accepts; rejects after `ms` or on exit. */
  waitForLine(
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name); rejects after `ms`. */
  exited(ms?: number): Promise<number | string>;
  /** What it printed, for failure messages. */
  output(): string;
}

export function spawnSkiff(args: string[]): SkiffProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let text = '';
  let pending = '';
  const listeners = new Set<() => void>();
  const take = (chunk: Buffer) => {
    text += chunk.toString();
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts.filter(Boolean)) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
    for (const l of listeners) l();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  let exit: number | string | undefined;
  const exitWaiters: ((code: number | string) => void)[] = [];
  child.on('exit', (code, signal) => {
    exit = code ?? signal ?? 'unknown';
    for (const w of exitWaiters.splice(0)) w(exit);
    for (const l of listeners) l();
  });

  return {
    child,
    lines,
    output: () => text,
    waitForLine(what, match, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found) finish(() => resolve(found));
          else if (exit !== undefined) finish(() => reject(new Error(`exited (${exit}) before ${what}:\n${text}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}:\n${text}`))), ms);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    exited(ms = 15_000) {
      if (exit !== undefined) return Promise.resolve(exit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms:\n${text}`)), ms);
        exitWaiters.push((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
  };
}

/** Kill whatever is still running (after() hooks): SIGKILL, so a stuck process cannot hold the suite. */
export function killAll(processes: SkiffProcess[]): void {
  for (const p of processes) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
}
