/** Run the real kubectl against a test server, isolated from any kubeconfig on the machine. */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const kubectlPath = (() => {
  const found = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
})();

const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kubectl-cache-'));
// kubectl's discovery cache for this test run only: gone when the run ends.
process.once('exit', () => rmSync(cacheDir, { recursive: true, force: true }));

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectlArgs(server: string, args: string[]): string[] {
  return [`--server=${server}`, `--cache-dir=${cacheDir}`, '--request-timeout=20s', ...args];
}

const env = { ...process.env, KUBECONFIG: '/dev/null', HOME: cacheDir };

/** kubectl 1.20, unpacked from Debian's kubernetes-client by .ci/run (it conflicts with the kubectl package). */
export const kubectl120Path = (() => {
  const path = new URL('../../.cache/kubectl-1.20/root/usr/bin/kubectl', import.meta.url).pathname;
  return existsSync(path) ? path : undefined;
})();

export function kubectl(server: string, args: string[], input?: string, binary = kubectlPath): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    if (!binary) return reject(new Error('kubectl is not installed'));
    const child = execFile(binary, kubectlArgs(server, args), { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Start a long-running kubectl (get -w) and collect its output lines. */
export function kubectlStream(server: string, args: string[], binary = kubectlPath) {
  if (!binary) throw new Error('kubectl is not installed');
  const child = spawn(binary, kubectlArgs(server, args), { env });
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return {
    lines,
    get stderr() {
      return stderr;
    },
    async waitFor(pred: (lines: string[]) => boolean, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred(lines)) {
        if (Date.now() > deadline)
          throw new Error(`timed out; kubectl printed:\n${lines.join('\n')}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
