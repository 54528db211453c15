// Whether a lock's calendar refuses a new holder right now: the one rule behind the overview's
// "outside window" counter and the `window = closed` search. It is the acquire rule's own
// calendar check (calendarRefusal: the global pause, the lock's pause, a blackout, or no window
// open), so the count and the search follow every calendar refusal from one place.
import { calendarRefusal, type Calendar, type Pause } from './calendar.js';

export function isOutsideWindow(lock: Calendar, globalPause: Pause | null, now: number): boolean {
  return calendarRefusal(lock, globalPause, now) !== undefined;
}
