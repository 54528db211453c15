// Live updates: one Server-Sent Events stream per tab (GET /api/events/stream, with the session
// cookie) tells every page which lock changed; a page then re-reads what it shows. While the
// stream is down (a proxy that buffers, a server restart) the pages poll instead, and the
// EventSource reconnects by itself, resuming after the last event it saw (Last-Event-ID).
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api';
import { useSession } from './session';

export const POLL_MS = 2000;
/** events often come in bursts (a rolling reboot): one re-read per burst */
const DEBOUNCE_MS = 150;
const RECONNECT_MS = 10_000;

export interface StreamEvent {
  id: number;
  event_type: string;
  created_at: string;
  host: { name: string } | null;
  user: { login: string } | null;
  detail: string | null;
  lock: { id: number | null; name: string };
}

type Listener = (event: StreamEvent | null) => void;

interface LiveState {
  /** true while the stream is open: pages do not poll */
  connected: boolean;
  /** `null`: the stream was reset (too much missed) — anything may have changed */
  subscribe(listener: Listener): () => void;
}

const Ctx = createContext<LiveState>({ connected: false, subscribe: () => () => undefined });

export function LiveProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let wasOpen = false;
    const emit = (event: StreamEvent | null) => {
      for (const l of listeners.current) l(event);
    };
    const open = () => {
      source = new EventSource('/api/events/stream');
      source.onopen = () => {
        setConnected(true);
        // what happened while the stream was down is unknown to the pages: re-read (not on the
        // first opening: the pages have just read, and a second read would render them again)
        if (wasOpen) emit(null);
        wasOpen = true;
      };
      source.onerror = () => {
        setConnected(false);
        // a network error reconnects by itself; an error status (503: too many streams, a
        // restart) closes the EventSource for good, so it is opened again a little later
        if (source?.readyState === EventSource.CLOSED) retry = setTimeout(open, RECONNECT_MS);
      };
      source.onmessage = (m: MessageEvent<string>) => {
        try {
          emit(JSON.parse(m.data) as StreamEvent);
        } catch {
          emit(null);
        }
      };
      source.addEventListener('reset', () => emit(null));
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, []);
  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);
  return <Ctx.Provider value={{ connected, subscribe }}>{children}</Ctx.Provider>;
}

export function useLiveConnected(): boolean {
  return useContext(Ctx).connected;
}

export interface Live<T> {
  data: T | undefined;
  error: string | undefined;
  /** the API said 404: the page shows that and stops asking */
  notFound: boolean;
  /** ask again now, e.g. right after an action */
  reload(): void;
}

/**
 * `fetcher`'s answer, read again whenever an event passes `relevant` (default: any), or every
 * POLL_MS while the stream is down. A new `key` reads at once.
 */
export function useLive<T>(
  key: string,
  fetcher: () => Promise<T>,
  relevant: (e: StreamEvent) => boolean = () => true,
  /** an answer already in (early.ts): rendered at once; the first read then changes nothing */
  initial?: T,
): Live<T> {
  const { expired } = useSession();
  const { connected, subscribe } = useContext(Ctx);
  const [data, setData] = useState<T | undefined>(initial);
  const [error, setError] = useState<string>();
  const [notFound, setNotFound] = useState(false);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const relevantRef = useRef(relevant);
  relevantRef.current = relevant;
  // an answer to an older key (the user typed on) must not overwrite a newer one
  const generation = useRef(0);
  const stopped = useRef(false);

  const run = useCallback(async () => {
    if (stopped.current) return;
    const mine = ++generation.current;
    try {
      const value = await fetcherRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
      setNotFound(false);
    } catch (err) {
      if (mine !== generation.current) return;
      if (err instanceof ApiError && err.status === 401) return expired();
      if (err instanceof ApiError && err.status === 404) {
        stopped.current = true;
        setNotFound(true);
      }
      // an invalid search must not leave the old results standing as if they matched
      if (err instanceof ApiError && err.status === 422) setData(undefined);
      setError(err instanceof Error ? err.message : String(err));
    }
  }, [expired]);

  useEffect(() => {
    stopped.current = false;
    void run();
  }, [key, run]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = subscribe((event) => {
      if (event && !relevantRef.current(event)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void run(), DEBOUNCE_MS);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [subscribe, run]);

  useEffect(() => {
    if (connected) return;
    const timer = setInterval(() => void run(), POLL_MS);
    return () => clearInterval(timer);
  }, [connected, key, run]);

  return { data, error, notFound, reload: () => void run() };
}
