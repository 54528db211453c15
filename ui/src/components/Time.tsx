// A point in time as people read it: relative ("in 52 min", "3 h ago"), the exact local and UTC
// time on hover (title). It re-renders every 30 s so "just now" does not stay on screen for an hour.
import { useEffect, useState } from 'react';
import { parseApiTime, relative } from '../format';

export { parseApiTime } from '../format';

function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function Time({ value, never = 'never' }: { value: string | null | undefined; never?: string }) {
  const now = useNow();
  if (!value) return <>{never}</>;
  const d = parseApiTime(value);
  if (Number.isNaN(d.getTime())) return <>{value}</>;
  const exact = `${d.toLocaleString()} (${value})`;
  return (
    <time dateTime={d.toISOString()} title={exact}>
      {relative(d, now)}
    </time>
  );
}
