/**
 * `npm run bench [-- read formats https abac create admission etcd watch startup overload] [--seconds N] [--json FILE]`: runs the scenarios and
 * prints one table, every figure beside a baseline measured in the same run.
 */
import { writeFileSync } from 'node:fs';
import { benchAbac } from './abac.js';
import { benchAdmission } from './admission.js';
import { benchCreate } from './create.js';
import { benchEtcd } from './etcd.js';
import { benchFormats } from './formats.js';
import { benchHttps } from './https.js';
import { generator } from './load.js';
import { benchOverload } from './overload.js';
import { benchRead } from './read.js';
import { printTable, type Row } from './report.js';
import { benchRuntime } from './runtime.js';
import { benchStartup } from './startup.js';
import { benchWatch } from './watch.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const seconds = Number(option('--seconds') ?? 10);
const jsonFile = option('--json');
const wanted = new Set(
  args.length
    ? args
    : ['read', 'formats', 'https', 'abac', 'create', 'admission', 'etcd', 'watch', 'startup', 'overload'],
);

const scenarios: [string, () => Promise<Row[]>][] = [
  ['read', () => benchRead(seconds)],
  ['formats', () => benchFormats(seconds)],
  ['https', () => benchHttps(seconds)],
  ['abac', () => benchAbac(seconds)],
  ['create', () => benchCreate(seconds)],
  ['admission', () => benchAdmission(seconds)],
  ['etcd', () => benchEtcd(seconds)],
  ['watch', () => benchWatch([100, 1000])],
  ['runtime', () => benchRuntime()], // opt-in (needs root): npm run bench -- runtime
  ['startup', () => benchStartup()],
  ['overload', () => benchOverload()],
  ['scheduler', async () => (await import('./scheduler.js')).benchScheduler()], // opt-in: npm run bench -- scheduler
  ['controllers', async () => (await import('./controllers.js')).benchControllers()], // opt-in: npm run bench -- controllers
  ['kubelet-server', async () => (await import('./kubelet-server.js')).benchKubeletServer()], // opt-in (needs root)
  ['kubelet', async () => (await import('./kubelet.js')).benchKubelet()], // opt-in: pod start (root), 1,000 simulated nodes
  ['services', async () => (await import('./services.js')).benchServices(seconds)], // opt-in: npm run bench -- services
  ['proxy', async () => (await import('./proxy.js')).benchProxy(seconds)], // opt-in (needs root): npm run bench -- proxy
];

const rows: Row[] = [];
for (const [name, run] of scenarios) {
  if (!wanted.has(name) && !(name === 'read' && (wanted.has('get') || wanted.has('list')))) continue;
  console.error(`running ${name} ...`);
  rows.push(...(await run()));
}
console.log(
  `\nSkiff benchmarks (node ${process.version}, ${(await import('node:os')).cpus().length} cores, load from ${generator})\n`,
);
printTable(rows);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(rows, null, 2));
process.exit(0);
