/** @module The display name of a Usage subject (a member's username or "sip:" + a SIP profile's name). */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api";
import { isSipSubject } from "./logic";

/** "sip:London PBX" → "London PBX"; "northwind.alex" → the member's name, once looked up. */
export function useSubjectName(subject: string | undefined): string {
  const member = subject !== undefined && !isSipSubject(subject) ? subject : undefined;
  const lookup = useQuery({
    queryKey: ["member-name", member],
    queryFn: async () => {
      const q = new URLSearchParams({ q: member ?? "", limit: "20" }).toString();
      const res = await api.get<{ members: { username: string; name: string }[] }>(`/members?${q}`);
      return res.members.find((m) => m.username === member)?.name ?? null;
    },
    enabled: member !== undefined,
    staleTime: 5 * 60_000,
  });
  if (subject === undefined) return "";
  if (isSipSubject(subject)) return subject.slice("sip:".length);
  return lookup.data ?? subject;
}
