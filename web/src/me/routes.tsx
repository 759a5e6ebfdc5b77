/** @module A member's own page (inside the signed-in shell) and the public invitation page. */
import type { ReactNode } from "react";
import { Navigate, Outlet } from "react-router";
import type { RouteObject } from "react-router";
import "../manage/manage.css";
import { page } from "../manage/routes";
import { Loading } from "../manage/ui";
import { useSession } from "../session";

/** /me is a member's page; admins and viewers have the reports. */
function MemberOnly(): ReactNode {
  const session = useSession();
  if (session.isPending) return <Loading />;
  if (!session.data) return <Navigate to="/login" replace />;
  if (session.data.kind !== "member") return <Navigate to="/reports/summary" replace />;
  return <Outlet />;
}

export const meRoutes: RouteObject[] = [
  {
    path: "me",
    element: <MemberOnly />,
    children: [{ index: true, ...page(() => import("./MePage").then((m) => m.MePage)) }],
  },
];

/** Routes shown without signing in (accepting an invitation). */
export const publicRoutes: RouteObject[] = [
  { path: "/invite/:token", ...page(() => import("./InvitePage").then((m) => m.InvitePage)) },
];
