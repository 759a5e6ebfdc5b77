/** @module The frame of every signed-in screen: the top toolbar (Reports first, as in Skype Manager), language, sign-out. */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { LANGUAGES, setLanguage } from "../i18n";
import { canManage, useSession, useSignOut } from "../session";

const MANAGE_LINKS = [
  ["/manage/members", "nav.members"],
  ["/manage/sip-profiles", "nav.sip"],
  ["/manage/buy", "nav.buy"],
  ["/manage/allocate", "nav.allocate"],
  ["/manage/features", "nav.features"],
  ["/manage/rules", "nav.rules"],
  ["/manage/admins", "nav.admins"],
] as const;

export function AppShell(): ReactNode {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const location = useLocation();
  // A guard that sent the user here says why (e.g. a viewer opening a management page).
  const notice = (location.state as { notice?: unknown } | null)?.notice;
  if (session.isPending)
    return (
      <p className="loading" role="status">
        {t("state.loading")}
      </p>
    );
  if (!session.data) return <Navigate to="/login" replace />;
  const s = session.data;
  return (
    <div className="app">
      <header className="toolbar">
        <span className="brand">{t("app.name")}</span>
        <span className="company">{s.company.name}</span>
        <nav aria-label="Main">
          {s.kind === "admin" ? (
            <>
              <NavLink to="/reports/summary">{t("nav.reports")}</NavLink>
              {canManage(s) &&
                MANAGE_LINKS.map(([to, key]) => (
                  <NavLink key={to} to={to}>
                    {t(key)}
                  </NavLink>
                ))}
              {s.role === "owner" && <NavLink to="/manage/audit">{t("nav.audit")}</NavLink>}
            </>
          ) : (
            <NavLink to="/me">{t("nav.me")}</NavLink>
          )}
        </nav>
        <span className="spacer" />
        <label className="language">
          <span className="visually-hidden">{t("nav.language")}</span>
          <select value={i18n.language} onChange={(e) => setLanguage(e.target.value)}>
            {LANGUAGES.map((l) => (
              <option key={l.code} value={l.code}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <span className="user">{s.name}</span>
        <button
          type="button"
          onClick={() => {
            void signOut().then(() => navigate("/login"));
          }}
        >
          {t("nav.signOut")}
        </button>
      </header>
      <main id="main">
        {typeof notice === "string" && (
          <p role="status" className="notice">
            {notice}
          </p>
        )}
        <Outlet />
      </main>
    </div>
  );
}
