/** One round of the admission benchmark (admission.ts), in a process of its own: prints its LoadResult. */
import { RESULT_MARK, round, type Side } from './admission.js';

const [side, seconds] = process.argv.slice(2);
if (!['chain', 'noAdmission', 'bare'].includes(side ?? '') || !(Number(seconds) > 0)) {
  console.error('usage: admission-round.ts chain|noAdmission|bare SECONDS');
  process.exit(2);
}
// Marked, since the server's own log (pino, warnings only) shares stdout.
console.log(`${RESULT_MARK}${JSON.stringify(await round(side as Side, Number(seconds)))}`);
process.exit(0);
