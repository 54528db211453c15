// Who is logged in. The session itself lives in an HttpOnly cookie the UI cannot read; it asks
// GET /api/session at start (a reload keeps the user logged in) and after login.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setCsrfToken, type Role, type SessionInfo } from './api';
import { dropEarly, earlySettled, takeEarly } from './early';

interface SessionState {
  /** undefined while asking the server, null when logged out */
  session: SessionInfo | null | undefined;
  login(login: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** the API said 401: the session ended on the server (idle, password change) */
  expired(): void;
}

const Ctx = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);

  const adopt = useCallback((s: SessionInfo | null) => {
    // reads started before the login would answer 401: nobody may take them
    if (!s) dropEarly();
    setCsrfToken(s?.csrf_token ?? null);
    setSession(s);
  }, []);

  useEffect(() => {
    // any failure (401 or the server unreachable) shows the login page
    // the first page renders once its early reads are in too (early.ts): one paint with data
    const read = takeEarly<SessionInfo>('/api/session') ?? api<SessionInfo>('GET', '/api/session');
    read.then(
      (s) => earlySettled().then(() => adopt(s)),
      () => adopt(null),
    );
  }, [adopt]);

  // stable functions: pages poll with them as dependencies
  const value = useMemo<SessionState>(
    () => ({
      session,
      login: async (login, password) =>
        adopt(await api<SessionInfo>('POST', '/api/session', { login, password })),
      logout: async () => {
        try {
          await api('DELETE', '/api/session');
        } finally {
          adopt(null);
        }
      },
      expired: () => adopt(null),
    }),
    [session, adopt],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Mirrors the server's rule, only to hide buttons: the server decides on every request. */
export function useCan(role: Role): boolean {
  const { session } = useSession();
  return !!session && RANK[session.user.role] >= RANK[role];
}
