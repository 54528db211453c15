// Live updates without a reload: the page re-asks the API every few seconds (and at once when
// what it asks for changes). Polling needs no extra server machinery and works behind any proxy.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';
import { useSession } from './session';

export const POLL_MS = 2000;

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  /** ask again now, e.g. right after an action */
  reload(): void;
}

export function usePoll<T>(key: string, fetcher: () => Promise<T>): Polled<T> {
  const { expired } = useSession();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  // an answer to an older key (the user typed on) must not overwrite a newer one
  const generation = useRef(0);

  const run = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const value = await fetcherRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (err) {
      if (mine !== generation.current) return;
      if (err instanceof ApiError && err.status === 401) return expired();
      setError(err instanceof Error ? err.message : String(err));
    }
  }, [expired]);

  useEffect(() => {
    void run();
    const timer = setInterval(() => void run(), POLL_MS);
    return () => clearInterval(timer);
  }, [key, run]);

  return { data, error, reload: () => void run() };
}
