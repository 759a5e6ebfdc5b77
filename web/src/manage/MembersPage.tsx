/** @module Members: the searchable list with balances and groups; create a business member; import a CSV list; invite a personal member; manage groups. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useDeferredValue, useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { API, api } from "../api";
import { canManage, useSession } from "../session";
import type { Group, Invitation, Member, MemberList, SentInvitation } from "./types";
import { ConfirmDialog, Empty, ErrorAlert, Field, fieldOf, Loading, useFormat, useRefreshAll } from "./ui";

const PAGE = 50;

export function MembersPage(): ReactNode {
  const { t } = useTranslation();
  return (
    <div className="manage-page">
      <h1>{t("members.title")}</h1>
      <MemberTable />
      <div className="cards">
        <NewMemberForm />
        <InviteForm />
        <ImportForm />
        <GroupsPanel />
      </div>
      <InvitationsList />
    </div>
  );
}

function useGroups() {
  return useQuery({ queryKey: ["groups"], queryFn: () => api.get<{ groups: Group[] }>("/groups") });
}

// ---------------------------------------------------------------------------------------------- the list

function MemberTable(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const groups = useGroups();
  const [q, setQ] = useState("");
  const [group, setGroup] = useState("");
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<number | null>(null);
  const [erasing, setErasing] = useState<Member | null>(null);
  const session = useSession().data;
  const isOwner = session?.role === "owner";
  const manager = canManage(session);
  const qc = useQueryClient();
  const erase = useMutation({
    mutationFn: (id: number) => api.post(`/members/${id}/erase`),
    onSuccess: async () => {
      setErasing(null);
      await qc.invalidateQueries({ queryKey: ["members"] });
    },
  });
  const search = useDeferredValue(q.trim());
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (search) params.set("q", search);
  if (group) params.set("group", group);
  const members = useQuery({
    queryKey: ["members", search, group, offset],
    queryFn: () => api.get<MemberList>(`/members?${params.toString()}`),
    placeholderData: (prev) => prev,
  });
  const total = members.data?.total ?? 0;
  return (
    <section className="panel" aria-labelledby="member-list-title">
      <h2 id="member-list-title">{t("members.list")}</h2>
      <div className="filters" role="search">
        <Field label={t("members.search")}>
          {(a11y) => (
            <input
              {...a11y}
              type="search"
              value={q}
              onChange={(e) => {
                setQ(e.target.value);
                setOffset(0);
              }}
              placeholder={t("members.searchPlaceholder")}
            />
          )}
        </Field>
        <Field label={t("members.group")}>
          {(a11y) => (
            <select
              {...a11y}
              value={group}
              onChange={(e) => {
                setGroup(e.target.value);
                setOffset(0);
              }}
            >
              <option value="">{t("members.allGroups")}</option>
              {groups.data?.groups.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {members.isPending && <Loading />}
      <ErrorAlert error={members.error} />
      {members.data && members.data.members.length === 0 && (
        <Empty>{search || group ? t("members.noMatch") : t("members.none")}</Empty>
      )}
      {members.data && members.data.members.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="members-table">
              <caption className="visually-hidden">{t("members.list")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("col.name")}</th>
                  <th scope="col" className="opt">
                    {t("col.username")}
                  </th>
                  <th scope="col" className="opt">
                    {t("col.email")}
                  </th>
                  <th scope="col" className="opt">
                    {t("col.account")}
                  </th>
                  <th scope="col" className="opt">
                    {t("col.groups")}
                  </th>
                  <th scope="col" className="num">
                    {t("col.balance")}
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">{t("col.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {members.data.members.map((m) => (
                  <Fragment key={m.id}>
                    <tr>
                      <td>{m.name}</td>
                      <td className="opt">{m.username}</td>
                      <td className="opt">{m.email}</td>
                      <td className="opt">{t(`account.${m.account_type}`)}</td>
                      <td className="opt wrap">{m.groups.map((g) => g.name).join(", ")}</td>
                      <td className="num">{fmt.money(m.balance)}</td>
                      <td>
                        <button
                          type="button"
                          className="secondary small"
                          aria-expanded={editing === m.id}
                          onClick={() => setEditing(editing === m.id ? null : m.id)}
                        >
                          {t("members.editGroups")}
                          <span className="visually-hidden"> {m.name}</span>
                        </button>{" "}
                        {manager && (
                          <a className="small" href={`${API}/members/${m.id}/data-export`} download>
                            {t("members.exportData")}
                            <span className="visually-hidden"> {m.name}</span>
                          </a>
                        )}
                        {isOwner && !m.erased && (
                          <>
                            {" "}
                            <button
                              type="button"
                              className="secondary small danger-outline"
                              onClick={() => {
                                erase.reset();
                                setErasing(m);
                              }}
                            >
                              {t("members.erase")}
                              <span className="visually-hidden"> {m.name}</span>
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                    {editing === m.id && (
                      <tr className="detail-row">
                        <td colSpan={7}>
                          <MemberGroups member={m} groups={groups.data?.groups ?? []} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span>
              {t("paging.range", {
                from: offset + 1,
                to: offset + members.data.members.length,
                total,
              })}
            </span>
            <button
              type="button"
              className="secondary"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE))}
            >
              {t("paging.previous")}
            </button>
            <button
              type="button"
              className="secondary"
              disabled={offset + PAGE >= total}
              onClick={() => setOffset(offset + PAGE)}
            >
              {t("paging.next")}
            </button>
          </div>
        </>
      )}
      <ConfirmDialog
        open={erasing !== null}
        danger
        title={t("members.eraseTitle")}
        confirmLabel={t("members.eraseConfirm")}
        busy={erase.isPending}
        error={erase.error}
        onConfirm={() => erasing && erase.mutate(erasing.id)}
        onCancel={() => {
          erase.reset();
          setErasing(null);
        }}
      >
        <p>{erasing && t("members.eraseQuestion", { name: erasing.name, username: erasing.username })}</p>
        <p>{t("members.eraseKeeps")}</p>
      </ConfirmDialog>
    </section>
  );
}

/** Ticks for each group: ticking puts the member in the group at once, unticking takes them out. */
function MemberGroups({ member, groups }: { member: Member; groups: Group[] }): ReactNode {
  const { t } = useTranslation();
  const refresh = useRefreshAll();
  const toggle = useMutation({
    mutationFn: ({ group, inGroup }: { group: number; inGroup: boolean }) =>
      inGroup
        ? api.put<Group>(`/groups/${group}/members/${member.id}`)
        : api.delete<Group>(`/groups/${group}/members/${member.id}`),
    onSuccess: () => refresh(),
  });
  if (groups.length === 0) return <Empty>{t("groups.none")}</Empty>;
  return (
    <fieldset className="inline-checks" disabled={toggle.isPending}>
      <legend>{t("members.groupsOf", { name: member.name })}</legend>
      {groups.map((g) => (
        <label key={g.id} className="check">
          <input
            type="checkbox"
            checked={
              toggle.isPending && toggle.variables.group === g.id
                ? toggle.variables.inGroup
                : member.groups.some((x) => x.id === g.id)
            }
            onChange={(e) => toggle.mutate({ group: g.id, inGroup: e.target.checked })}
          />
          {g.name}
        </label>
      ))}
      <ErrorAlert error={toggle.error} />
    </fieldset>
  );
}

// ---------------------------------------------------------------------------------------------- create

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
type MemberField = "name" | "username" | "email" | "password";

function NewMemberForm(): ReactNode {
  const { t } = useTranslation();
  const groups = useGroups();
  const refresh = useRefreshAll();
  const [values, setValues] = useState<Record<MemberField, string>>({
    name: "",
    username: "",
    email: "",
    password: "",
  });
  const [picked, setPicked] = useState<number[]>([]);
  const [errors, setErrors] = useState<Partial<Record<MemberField, string>>>({});
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.post<Member>("/members", body),
    onSuccess: () => {
      setValues({ name: "", username: "", email: "", password: "" });
      setPicked([]);
      return refresh();
    },
    onError: (err) => {
      const f = fieldOf(err, ["name", "username", "email", "password"]);
      if (f) setErrors({ [f.field]: f.message });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Partial<Record<MemberField, string>> = {};
    if (!values.name.trim()) next.name = t("check.required");
    if (!values.username) next.username = t("check.required");
    else if (!USERNAME.test(values.username)) next.username = t("check.username");
    if (!values.email.trim()) next.email = t("check.required");
    else if (!EMAIL.test(values.email.trim())) next.email = t("check.email");
    if (values.password && values.password.length < 8) next.password = t("check.password");
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    create.mutate({
      name: values.name.trim(),
      username: values.username,
      email: values.email.trim(),
      ...(values.password ? { password: values.password } : {}),
      groups: picked,
    });
  };
  const input = (field: MemberField, type = "text", autoComplete = "off") => (
    <Field
      label={t(`member.${field}`)}
      error={errors[field]}
      hint={field === "password" ? t("member.passwordHint") : undefined}
    >
      {(a11y) => (
        <input
          {...a11y}
          type={type}
          autoComplete={autoComplete}
          value={values[field]}
          onChange={(e) => setValues({ ...values, [field]: e.target.value })}
        />
      )}
    </Field>
  );
  return (
    <section className="panel" aria-labelledby="new-member-title">
      <h2 id="new-member-title">{t("members.create")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        {input("name")}
        {input("username")}
        {input("email", "email")}
        {input("password", "password", "new-password")}
        {groups.data && groups.data.groups.length > 0 && (
          <fieldset className="inline-checks">
            <legend>{t("col.groups")}</legend>
            {groups.data.groups.map((g) => (
              <label key={g.id} className="check">
                <input
                  type="checkbox"
                  checked={picked.includes(g.id)}
                  onChange={(e) =>
                    setPicked(e.target.checked ? [...picked, g.id] : picked.filter((x) => x !== g.id))
                  }
                />
                {g.name}
              </label>
            ))}
          </fieldset>
        )}
        {!fieldOf(create.error, ["name", "username", "email", "password"]) && (
          <ErrorAlert error={create.error} />
        )}
        {create.isSuccess && (
          <p className="success" role="status">
            {t("members.created", { name: create.data.name, username: create.data.username })}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={create.isPending}>
            {create.isPending ? t("state.working") : t("members.createSubmit")}
          </button>
        </div>
      </form>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------- import

function ImportForm(): ReactNode {
  const { t } = useTranslation();
  const refresh = useRefreshAll();
  const [csv, setCsv] = useState("");
  const [error, setError] = useState<string | undefined>();
  const run = useMutation({
    mutationFn: (text: string) =>
      api.post<{ created: number; members: Member[] }>("/members/import", text, {
        "content-type": "text/csv",
      }),
    onSuccess: () => {
      setCsv("");
      return refresh();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!csv.trim()) {
      setError(t("import.empty"));
      return;
    }
    setError(undefined);
    run.mutate(csv);
  };
  return (
    <section className="panel" aria-labelledby="import-title">
      <h2 id="import-title">{t("import.title")}</h2>
      <form className="stack" onSubmit={submit} noValidate>
        <Field label={t("import.file")}>
          {(a11y) => (
            <input
              {...a11y}
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) void file.text().then(setCsv);
              }}
            />
          )}
        </Field>
        <Field label={t("import.text")} hint={t("import.hint")} error={error}>
          {(a11y) => (
            <textarea
              {...a11y}
              rows={5}
              value={csv}
              onChange={(e) => setCsv(e.target.value)}
              placeholder={"first_name,last_name,email\nBob,Byrne,bob@acme.example"}
              spellCheck={false}
            />
          )}
        </Field>
        <ErrorAlert error={run.error} />
        {run.isSuccess && (
          <p className="success" role="status">
            {t("import.done", { count: run.data.created })}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={run.isPending}>
            {run.isPending ? t("state.working") : t("import.submit")}
          </button>
        </div>
      </form>
    </section>
  );
}

// ---------------------------------------------------------------------------------------------- invite

function InviteForm(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [copied, setCopied] = useState(false);
  const invite = useMutation({
    mutationFn: (address: string) => api.post<SentInvitation>("/invitations", { email: address }),
    onSuccess: () => {
      setEmail("");
      setCopied(false);
      return refresh();
    },
    onError: (err) => setError(fieldOf(err, ["email"])?.message),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = email.trim();
    const problem = !v ? t("check.required") : !EMAIL.test(v) ? t("check.email") : undefined;
    setError(problem);
    if (!problem) invite.mutate(v);
  };
  return (
    <section className="panel" aria-labelledby="invite-title">
      <h2 id="invite-title">{t("invite.title")}</h2>
      <p className="hint">{t("invite.intro")}</p>
      <form className="stack" onSubmit={submit} noValidate>
        <Field label={t("member.email")} error={error}>
          {(a11y) => (
            <input {...a11y} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        {!fieldOf(invite.error, ["email"]) && <ErrorAlert error={invite.error} />}
        <div className="actions">
          <button type="submit" disabled={invite.isPending}>
            {invite.isPending ? t("state.working") : t("invite.submit")}
          </button>
        </div>
      </form>
      {invite.data && (
        <div className="success" role="status">
          <p>{t("invite.sent", { email: invite.data.email, date: fmt.date(invite.data.expires_at) })}</p>
          <div className="copy-row">
            <label className="visually-hidden" htmlFor="invite-link">
              {t("invite.link")}
            </label>
            <input id="invite-link" readOnly value={invite.data.link} onFocus={(e) => e.target.select()} />
            <button
              type="button"
              className="secondary"
              onClick={() => {
                void navigator.clipboard?.writeText(invite.data.link).then(() => setCopied(true));
              }}
            >
              {copied ? t("invite.copied") : t("invite.copy")}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function InvitationsList(): ReactNode {
  const { t } = useTranslation();
  const fmt = useFormat();
  const refresh = useRefreshAll();
  const list = useQuery({
    queryKey: ["invitations"],
    queryFn: () => api.get<{ invitations: Invitation[] }>("/invitations"),
  });
  const revoke = useMutation({
    mutationFn: (id: number) => api.delete(`/invitations/${id}`),
    onSuccess: () => refresh(),
  });
  return (
    <section className="panel" aria-labelledby="invitations-title">
      <h2 id="invitations-title">{t("invitations.title")}</h2>
      {list.isPending && <Loading />}
      <ErrorAlert error={list.error ?? revoke.error} />
      {list.data && list.data.invitations.length === 0 && <Empty>{t("invitations.none")}</Empty>}
      {list.data && list.data.invitations.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("col.email")}</th>
                <th scope="col">{t("col.status")}</th>
                <th scope="col">{t("col.sent")}</th>
                <th scope="col">{t("col.expires")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("col.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.invitations.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{t(`invitation.${i.status}`)}</td>
                  <td>{fmt.date(i.created_at)}</td>
                  <td>{fmt.date(i.expires_at)}</td>
                  <td>
                    {i.status === "pending" && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={revoke.isPending}
                        onClick={() => revoke.mutate(i.id)}
                      >
                        {t("invitations.revoke", { email: i.email })}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------- groups

function GroupsPanel(): ReactNode {
  const { t } = useTranslation();
  const groups = useGroups();
  const refresh = useRefreshAll();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [renaming, setRenaming] = useState<{ id: number; name: string; error?: string | undefined } | null>(
    null,
  );
  const [deleting, setDeleting] = useState<Group | null>(null);
  const create = useMutation({
    mutationFn: (n: string) => api.post<Group>("/groups", { name: n }),
    onSuccess: () => {
      setName("");
      return refresh();
    },
    onError: (err) => setError(fieldOf(err, ["name"])?.message),
  });
  const rename = useMutation({
    mutationFn: (r: { id: number; name: string }) => api.patch<Group>(`/groups/${r.id}`, { name: r.name }),
    onSuccess: () => {
      setRenaming(null);
      return refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: number) => api.delete(`/groups/${id}`),
    onSuccess: () => {
      setDeleting(null);
      return refresh();
    },
  });
  return (
    <section className="panel" aria-labelledby="groups-title">
      <h2 id="groups-title">{t("groups.title")}</h2>
      {groups.isPending && <Loading />}
      <ErrorAlert error={groups.error} />
      {groups.data && groups.data.groups.length === 0 && <Empty>{t("groups.none")}</Empty>}
      {groups.data && groups.data.groups.length > 0 && (
        <ul className="plain-list">
          {groups.data.groups.map((g) =>
            renaming?.id === g.id ? (
              <li key={g.id}>
                <form
                  className="inline-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    if (!renaming.name.trim()) setRenaming({ ...renaming, error: t("check.required") });
                    else rename.mutate({ id: g.id, name: renaming.name.trim() });
                  }}
                  noValidate
                >
                  <Field
                    label={t("groups.newName", { name: g.name })}
                    error={renaming.error ?? fieldOf(rename.error, ["name"])?.message}
                  >
                    {(a11y) => (
                      <input
                        {...a11y}
                        autoFocus
                        value={renaming.name}
                        onChange={(e) => setRenaming({ id: g.id, name: e.target.value })}
                      />
                    )}
                  </Field>
                  <button type="submit" disabled={rename.isPending}>
                    {t("action.save")}
                  </button>
                  <button type="button" className="secondary" onClick={() => setRenaming(null)}>
                    {t("action.cancel")}
                  </button>
                </form>
                {!fieldOf(rename.error, ["name"]) && <ErrorAlert error={rename.error} />}
              </li>
            ) : (
              <li key={g.id}>
                <span className="grow">
                  {g.name} <span className="muted">{t("groups.count", { count: g.members })}</span>
                </span>
                <button
                  type="button"
                  className="secondary small"
                  onClick={() => {
                    rename.reset();
                    setRenaming({ id: g.id, name: g.name });
                  }}
                >
                  {t("groups.rename")}
                  <span className="visually-hidden"> {g.name}</span>
                </button>
                <button
                  type="button"
                  className="secondary small danger-outline"
                  onClick={() => setDeleting(g)}
                >
                  {t("groups.delete")}
                  <span className="visually-hidden"> {g.name}</span>
                </button>
              </li>
            ),
          )}
        </ul>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) setError(t("check.required"));
          else {
            setError(undefined);
            create.mutate(name.trim());
          }
        }}
        noValidate
      >
        <Field label={t("groups.name")} error={error}>
          {(a11y) => <input {...a11y} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {t("groups.create")}
        </button>
      </form>
      {!fieldOf(create.error, ["name"]) && <ErrorAlert error={create.error} />}
      <ConfirmDialog
        open={deleting !== null}
        danger
        title={t("groups.deleteTitle")}
        confirmLabel={t("groups.delete")}
        busy={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
        onCancel={() => {
          remove.reset();
          setDeleting(null);
        }}
      >
        <p>{deleting && t("groups.deleteQuestion", { name: deleting.name, count: deleting.members })}</p>
      </ConfirmDialog>
    </section>
  );
}
