// foreman_dlm renders every time stamp as `YYYY-MM-DD HH:MM:SS UTC`.
export function formatTimestamp(ms: number): string {
  // Every answer formats a few stamps (the lock's creation, its last change, each holder's
  // acquisition), of a few distinct seconds: each second's text is made once and kept.
  const second = Math.floor(ms / 1000);
  let text = formattedSeconds.get(second);
  if (text === undefined) {
    // bounded: a page of long-lived locks brings many distinct seconds, each seen once
    if (formattedSeconds.size >= FORMATTED_SECONDS_MAX) formattedSeconds.clear();
    text = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
    formattedSeconds.set(second, text);
  }
  return text;
}

const FORMATTED_SECONDS_MAX = 1024;
const formattedSeconds = new Map<number, string>();

export function formatNullableTimestamp(ms: number | null): string | null {
  return ms === null ? null : formatTimestamp(ms);
}
