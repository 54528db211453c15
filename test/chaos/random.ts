// mulberry32: a small seeded generator, so a run's choices (operations, faults, gaps) can be
// replayed from the seed it prints. Timing still differs between runs; the choices do not.
export type Random = () => number;

export function seeded(seed: number): Random {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: Random, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
export const between = (rand: Random, min: number, max: number): number => min + rand() * (max - min);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
