// foreman_dlm renders every time stamp as `YYYY-MM-DD HH:MM:SS UTC`.
export function formatTimestamp(ms: number): string {
  // Every answer formats a few stamps, mostly of the current second: reuse the last one.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }
  return lastText;
}

let lastSecond = Number.NaN;
let lastText = '';

export function formatNullableTimestamp(ms: number | null): string | null {
  return ms === null ? null : formatTimestamp(ms);
}
