/** @module The management area's routes (members, SIP profiles, buying, allocating, rules, admins, audit log), behind a guard: owners and admins only; the audit log for owners. */
import type { ComponentType, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, Outlet } from "react-router";
import type { RouteObject } from "react-router";
import { canManage, useSession } from "../session";
import "./manage.css";
import { Loading } from "./ui";

/** Where a refused visitor is sent, with a notice in the router state (`location.state.notice`). */
export interface RedirectState {
  notice: string;
}

/** Owners and admins pass; viewers go to the reports with a notice; members go to their own page. */
function ManageGuard({ ownerOnly = false }: { ownerOnly?: boolean }): ReactNode {
  const { t } = useTranslation();
  const session = useSession();
  if (session.isPending) return <Loading />;
  const s = session.data;
  if (!s) return <Navigate to="/login" replace />;
  if (s.kind === "member") return <Navigate to="/me" replace />;
  if (!canManage(s) || (ownerOnly && s.role !== "owner")) {
    const state: RedirectState = { notice: t(ownerOnly ? "guard.ownerOnly" : "guard.viewer") };
    return <Navigate to="/reports/summary" replace state={state} />;
  }
  return <Outlet />;
}

/** A page loaded when first visited, with a loading line meanwhile. */
export function page(load: () => Promise<ComponentType>): Pick<RouteObject, "lazy" | "HydrateFallback"> {
  return { lazy: async () => ({ Component: await load() }), HydrateFallback: Loading };
}

export const manageRoutes: RouteObject[] = [
  {
    path: "manage",
    element: <ManageGuard />,
    children: [
      { index: true, element: <Navigate to="/manage/members" replace /> },
      { path: "members", ...page(() => import("./MembersPage").then((m) => m.MembersPage)) },
      {
        path: "sip-profiles",
        ...page(() => import("./SipProfilesPage").then((m) => m.SipProfilesPage)),
      },
      { path: "buy", ...page(() => import("./BuyPage").then((m) => m.BuyPage)) },
      { path: "allocate", ...page(() => import("./AllocatePage").then((m) => m.AllocatePage)) },
      { path: "features", ...page(() => import("./FeaturesPage").then((m) => m.FeaturesPage)) },
      { path: "rules", ...page(() => import("./RulesPage").then((m) => m.RulesPage)) },
      { path: "admins", ...page(() => import("./AdminsPage").then((m) => m.AdminsPage)) },
    ],
  },
  {
    path: "manage/audit",
    element: <ManageGuard ownerOnly />,
    children: [{ index: true, ...page(() => import("./AuditPage").then((m) => m.AuditPage)) }],
  },
];
