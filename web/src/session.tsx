/** @module The signed-in session: who, which company, and the CSRF token; sign-in and sign-out. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, setCsrfToken } from "./api";
import type { Session } from "./api";

export function useSession() {
  return useQuery({
    queryKey: ["session"],
    queryFn: async () => {
      try {
        const s = await api.get<Session>("/auth/session");
        setCsrfToken(s.csrf_token);
        return s;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
}

export function useSignIn() {
  const qc = useQueryClient();
  return async (email: string, password: string): Promise<Session> => {
    const s = await api.post<Session>("/auth/login", { email, password });
    setCsrfToken(s.csrf_token);
    qc.setQueryData(["session"], s);
    return s;
  };
}

export function useSignOut() {
  const qc = useQueryClient();
  return async (): Promise<void> => {
    await api.post("/auth/logout");
    setCsrfToken(undefined);
    qc.clear();
    qc.setQueryData(["session"], null);
  };
}

/** Management actions are for owners and admins; viewers only read. */
export const canManage = (s: Session | null | undefined): boolean =>
  s?.role === "owner" || s?.role === "admin";
