/**
 * metav1.MicroTime: the timestamps of Leases and Events (RFC 3339 in UTC with six fraction
 * digits), for whoever writes them: leader election, the API servers' own leases, node heartbeats.
 */

/** `ms` (Date.now()'s unit, which may carry microseconds in its fraction) as a MicroTime. */
export function microTime(ms: number): string {
  return fromMicros(Math.round(ms * 1000));
}

function fromMicros(micros: number): string {
  const fraction = String(micros % 1000).padStart(3, '0');
  // toISOString ends ".mmmZ": keep the milliseconds, add the microseconds.
  return `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, -1)}${fraction}Z`;
}

let lastStampMicros = 0;

/**
 * Now as a MicroTime with real microseconds, as upstream's: the wall clock's milliseconds and the
 * monotonic clock's microseconds, never the same twice in one process. With milliseconds alone a
 * release and the next holder's acquire could carry the same stamp.
 */
export function nowMicroTime(): string {
  let micros = Date.now() * 1000 + (Math.floor(performance.now() * 1000) % 1000);
  if (micros <= lastStampMicros) micros = lastStampMicros + 1;
  lastStampMicros = micros;
  return fromMicros(micros);
}
