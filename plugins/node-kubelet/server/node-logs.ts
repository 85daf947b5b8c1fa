/**
 * /logs/: the node's log directory, as upstream's http.FileServer over /var/log serves it (a
 * directory as an HTML listing, a file as its bytes). Skiff serves a directory the kubelet owns,
 * --node-log-dir, by default <root-dir>/logs, where the pods' container logs are
 * (logs/pods/<namespace>_<name>_<uid>/<container>/<n>.log, upstream's /var/log/pods layout). The
 * host's /var/log is served only when --node-log-dir names it: several kubelets share one host
 * here, and a caller allowed nodes/log on one node should not read the whole machine's logs by
 * default. ".." is refused, and so is anything whose real path (after symlinks) leaves the directory.
 */
import { createReadStream, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { type Exchange, reply } from './exchange.js';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

function realInside(root: string, path: string): string | undefined {
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(path);
    return real === realRoot || real.startsWith(realRoot + sep) ? real : undefined;
  } catch {
    return undefined;
  }
}

export function serveNodeLogs(ex: Exchange, root: string): void {
  const segments = ex.path
    .replace(/^\/logs\/?/, '')
    .split('/')
    .filter(Boolean);
  if (segments.includes('..')) {
    reply(ex, 400, 'invalid URL path');
    return;
  }
  const real = realInside(root, join(root, ...segments));
  const stat = real ? statSync(real) : undefined;
  if (stat?.isDirectory()) directory(ex, real!);
  else if (stat?.isFile()) file(ex, real!, stat.size);
  else reply(ex, 404, '404 page not found\n');
}

function redirect(ex: Exchange, location: string): void {
  ex.res!.writeHead(301, { Location: location });
  ex.res!.end();
}

/** A listing as Go's FileServer writes it; a directory asked for without its trailing slash is redirected. */
function directory(ex: Exchange, real: string): void {
  if (!ex.path.endsWith('/')) {
    redirect(ex, ex.path === '/logs' ? '/logs/' : `${ex.path.split('/').pop()}/`);
    return;
  }
  const names = readdirSync(real, { withFileTypes: true })
    .map((d) => (d.isDirectory() ? `${d.name}/` : d.name))
    .sort();
  const links = names.map((n) => `<a href="${escapeHtml(encodeURI(n))}">${escapeHtml(n)}</a>`);
  ex.res!.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  ex.res!.end(ex.method === 'HEAD' ? undefined : `<pre>\n${links.join('\n')}\n</pre>\n`);
}

/** The file's bytes as they were when asked for (a log growing meanwhile does not overrun Content-Length). */
function file(ex: Exchange, real: string, size: number): void {
  ex.res!.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': size });
  if (ex.method === 'HEAD' || size === 0) {
    ex.res!.end();
    return;
  }
  createReadStream(real, { end: size - 1 })
    .on('error', () => ex.res!.destroy())
    .pipe(ex.res!);
}
