/**
 * One side of the admission benchmark (admission.ts) in a process of its own: starts the server,
 * prepares the namespace, prints its URL and serves until its standard input closes.
 */
import { SERVING_MARK, type Side, serve } from './admission.js';

const [side] = process.argv.slice(2);
if (!['chain', 'noAdmission', 'bare'].includes(side ?? '')) {
  console.error('usage: admission-server.ts chain|noAdmission|bare');
  process.exit(2);
}
const server = await serve(side as Side);
// Marked, since the server's own log (pino, warnings only) shares stdout.
console.log(`${SERVING_MARK}${server.url}`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().finally(() => process.exit(0));
});
