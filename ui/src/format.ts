// Figures people can trust at a glance: durations in human units, times relative in both
// directions ("in 52 min", "3 h ago"). The exact time is always one hover away (see Time).

/** The API's timestamps are UTC ("2026-11-26 08:00:00 UTC"). */
export function parseApiTime(s: string): Date {
  return new Date(s.replace(' UTC', 'Z').replace(' ', 'T'));
}

/** 45 s, 12 min, 3 h 5 min, 2 d 4 h: the two largest units that matter. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "in 52 min" for the future, "3 h ago" for the past, "just now" within a few seconds. */
export function relative(target: Date, now = Date.now()): string {
  const diff = target.getTime() - now;
  if (Math.abs(diff) < 5000) return 'just now';
  // one unit is enough in a sentence: "in 3 h", "2 d ago"
  const text = duration(Math.abs(diff)).split(' ').slice(0, 2).join(' ');
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

/** Seconds as the lock settings state them: "90 s" reads worse than "1 min 30 s". */
export function seconds(value: number): string {
  if (value < 60 || value % 60 === 0) return value < 60 ? `${value} s` : duration(value * 1000);
  return `${duration(value * 1000)} ${value % 60} s`;
}
