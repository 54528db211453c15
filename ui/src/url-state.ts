// List state lives in the URL (search, sort, page, filters), so Back works and a view can be
// shared. Defaults are left out of the URL to keep it short.
import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';

export function useUrlState<T extends Record<string, string>>(defaults: T): [T, (next: Partial<T>) => void] {
  const [params, setParams] = useSearchParams();
  const state = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const v = params.get(key as string);
    if (v !== null) state[key] = v as T[keyof T];
  }
  const update = useCallback(
    (next: Partial<T>) => {
      setParams((prev) => {
        const out = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(next)) {
          if (v === undefined || v === defaults[k]) out.delete(k);
          else out.set(k, v as string);
        }
        return out;
      });
    },
    // defaults are literals of the calling page: not a dependency
    [setParams],
  );
  return [state, update];
}

export { intParam } from './locks-query';
