/** At most `max` of the calls run at once; the rest wait in order (a thousand nodes must not open a thousand requests). */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

export function limit(max: number): Limit {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
