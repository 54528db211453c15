// The API's timestamps are UTC ("2026-11-26 08:00:00 UTC"); people read local time and "how long ago".
export function parseApiTime(s: string): Date {
  return new Date(s.replace(' UTC', 'Z').replace(' ', 'T'));
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <>never</>;
  const d = parseApiTime(value);
  if (Number.isNaN(d.getTime())) return <>{value}</>;
  return (
    <time dateTime={d.toISOString()} title={value}>
      {d.toLocaleString()} ({ago(Date.now() - d.getTime())})
    </time>
  );
}
