// A test's own bound on an answer that is due: the promise's value, or a failure naming what
// did not come within `ms`. Not a speed assertion: the bound is far above the expected time.

export function resolvesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
