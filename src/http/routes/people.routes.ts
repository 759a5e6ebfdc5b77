/**
 * @module The company's people over HTTP: members (one by one, or a CSV list), invitations of personal
 * members (and the public accept/decline pages' API), groups, SIP profiles, admins and roles, API keys,
 * and the company overview. Every id is looked up within the caller's company: another company's is a 404.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { hashPassword, PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN } from "../../auth/password";
import { inTransaction } from "../../db/database";
import { formatAmount } from "../../money/money";
import { createApiKey } from "../../services/auth.service";
import type { CompanyContext } from "../../services/company-context";
import {
  acceptInvitation,
  createInvitation,
  declineInvitation,
  describeInvitation,
  listInvitations,
  revokeInvitation,
} from "../../services/invitation.service";
import type { InvitationView } from "../../services/invitation.service";
import {
  addAdmin,
  addGroup,
  addSipProfile,
  API_KEY_NAME_CHARS_MAX,
  changeAdminRole,
  companyOverview,
  createBusinessMember,
  deleteGroup,
  EMAIL_CHARS_MAX,
  EMAIL_PATTERN,
  getMember,
  GROUP_NAME_CHARS_MAX,
  importMembers,
  listAdmins,
  listApiKeys,
  listGroups,
  listMembers,
  listSipProfiles,
  MEMBER_GROUPS_MAX,
  MEMBERS_PAGE_ROWS_DEFAULT,
  MEMBERS_PAGE_ROWS_MAX,
  NAME_CHARS_MAX,
  needsAdmin,
  parseMembersCsv,
  removeAdmin,
  renameGroup,
  revokeApiKey,
  setGroupMembership,
  SIP_CHANNELS_MAX,
  updateMember,
  updateSipProfile,
  USERNAME_CHARS_MAX,
  USERNAME_PATTERN,
  USERNAME_RULE,
} from "../../services/member-admin.service";
import type { Actor, AdminView, ApiKeyView } from "../../services/member-admin.service";
import { formatLocalIso } from "../../time/month";
import { authorize, MANAGE, OWNER, READ } from "../auth";
import type { Access } from "../auth";
import { API_KEY_SCOPES, principalLabel } from "../context";
import type { AppEnv, Principal } from "../context";
import { createRouter, errorResponses, IdParam, json, jsonBody } from "../router";

const MEMBERS_READ: Access = { ...READ, scope: "members:read" };
const MEMBERS_WRITE: Access = { ...MANAGE, scope: "members:write" };
/** Longest invitation token accepted in a path (ours are 43 characters). */
const INVITATION_TOKEN_CHARS_MAX = 100;
const SEARCH_CHARS_MAX = 200;

// ---------------------------------------------------------------------------------------------- schemas

const name = () => z.string().trim().min(1).max(NAME_CHARS_MAX);
const email = () =>
  z
    .string()
    .trim()
    .max(EMAIL_CHARS_MAX)
    .regex(EMAIL_PATTERN, 'must be an email address like "bob@acme.example"');
const username = () => z.string().min(1).max(USERNAME_CHARS_MAX).regex(USERNAME_PATTERN, USERNAME_RULE);
const password = () => z.string().min(PASSWORD_LENGTH_MIN).max(PASSWORD_LENGTH_MAX);
const id = () => z.number().int().positive();
const instant = () => z.string().openapi({ example: "2026-11-27T12:00:00+00:00" });

const GroupRefSchema = z.object({ id: z.number(), name: z.string() }).openapi("GroupRef");

const MemberSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    username: z.string(),
    email: z.string().nullable(),
    account_type: z.enum(["business", "personal"]),
    groups: z.array(GroupRefSchema),
    balance: z.string().openapi({ example: "12.50" }),
    reports_consent: z.boolean(),
    erased: z
      .boolean()
      .openapi({ description: "The person was erased (pseudonymised) at an owner's request" }),
  })
  .openapi("Member");

const MemberListSchema = z
  .object({ total: z.number(), limit: z.number(), offset: z.number(), members: z.array(MemberSchema) })
  .openapi("MemberList");

const MembersQuery = z.object({
  q: z
    .string()
    .max(SEARCH_CHARS_MAX)
    .optional()
    .openapi({ description: "Search in name, username and email" }),
  group: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .openapi({ description: "Only members of this group id" }),
  limit: z.coerce.number().int().min(1).max(MEMBERS_PAGE_ROWS_MAX).default(MEMBERS_PAGE_ROWS_DEFAULT),
  offset: z.coerce.number().int().min(0).default(0),
});

const NewMemberSchema = z
  .object({
    name: name(),
    username: username(),
    email: email(),
    password: password().optional().openapi({ description: "Lets the member sign in to their own page" }),
    groups: z.array(id()).max(MEMBER_GROUPS_MAX).default([]),
  })
  .strict()
  .openapi("NewMember");

const MemberPatchSchema = z
  .object({
    name: name().optional(),
    email: email().optional(),
    groups: z
      .array(id())
      .max(MEMBER_GROUPS_MAX)
      .optional()
      .openapi({ description: "Replaces the member's groups" }),
  })
  .strict()
  .openapi("MemberPatch");

const ImportedSchema = z
  .object({ created: z.number(), members: z.array(MemberSchema) })
  .openapi("MembersImported");

const InvitationSchema = z
  .object({
    id: z.number(),
    email: z.string(),
    status: z.enum(["pending", "accepted", "declined", "expired"]),
    created_at: instant(),
    expires_at: instant(),
    member_id: z.number().nullable(),
  })
  .openapi("Invitation");

const NewInvitationSchema = z.object({ email: email() }).strict().openapi("NewInvitation");

const SentInvitationSchema = z
  .object({
    id: z.number(),
    email: z.string(),
    expires_at: instant(),
    link: z.string().openapi({ example: "https://switchboard.example/invite/3q2…" }),
    token: z.string().openapi({ description: "Shown once: only its hash is stored" }),
  })
  .openapi("SentInvitation");

const PublicInvitationSchema = z
  .object({ company: z.string(), email: z.string(), expires_at: instant() })
  .openapi("PublicInvitation");

const AcceptInvitationSchema = z
  .object({ name: name(), username: username(), password: password() })
  .strict()
  .openapi("AcceptInvitation");

const TokenParam = z.object({
  token: z
    .string()
    .min(1)
    .max(INVITATION_TOKEN_CHARS_MAX)
    .openapi({ param: { name: "token", in: "path" } }),
});

const GroupSchema = z.object({ id: z.number(), name: z.string(), members: z.number() }).openapi("Group");
const GroupInputSchema = z
  .object({ name: z.string().trim().min(1).max(GROUP_NAME_CHARS_MAX) })
  .strict()
  .openapi("GroupInput");
const GroupMemberParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" } }),
  memberId: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "memberId", in: "path" } }),
});

const SipProfileSchema = z
  .object({ id: z.number(), name: z.string(), channels: z.number(), balance: z.string() })
  .openapi("SipProfile");
const channels = () => z.number().int().min(1).max(SIP_CHANNELS_MAX);
const NewSipProfileSchema = z
  .object({ name: name(), channels: channels() })
  .strict()
  .openapi("NewSipProfile");
const SipProfilePatchSchema = z
  .object({ name: name().optional(), channels: channels().optional() })
  .strict()
  .openapi("SipProfilePatch");

const RoleSchema = z.enum(["owner", "admin", "viewer"]);
const AdminSchema = z
  .object({
    id: z.number(),
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    privacy_acknowledged: z.boolean(),
    created_at: instant(),
  })
  .openapi("Admin");
const NewAdminSchema = z
  .object({ email: email(), name: name(), role: RoleSchema, password: password() })
  .strict()
  .openapi("NewAdmin");
const AdminPatchSchema = z.object({ role: RoleSchema }).strict().openapi("AdminPatch");

const ApiKeySchema = z
  .object({
    id: z.number(),
    name: z.string(),
    prefix: z.string().openapi({ example: "sbk_Ab12Cd" }),
    scopes: z.array(z.string()),
    created_at: instant(),
    last_used_at: instant().nullable(),
    revoked_at: instant().nullable(),
  })
  .openapi("ApiKey");
const NewApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(API_KEY_NAME_CHARS_MAX),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  })
  .strict()
  .openapi("NewApiKey");
const CreatedApiKeySchema = z
  .object({
    api_key: ApiKeySchema,
    key: z.string().openapi({ description: "Shown once: only its hash is stored" }),
  })
  .openapi("CreatedApiKey");

const CompanySchema = z
  .object({
    id: z.number(),
    name: z.string(),
    currency: z.string(),
    timezone: z.string(),
    balance: z.string().nullable().openapi({
      description: "The company account's balance; null for a member (PRODUCT.md §1: only their own money)",
    }),
    usage_last_30_days: z.string().nullable().openapi({ description: "null for a member" }),
    days_left: z.number().nullable().openapi({
      description:
        "Balance ÷ average daily usage charges of the last 30 days; null without usage, and for a member",
    }),
  })
  .openapi("Company");

const noContent = { 204: { description: "Done" } } as const;

// ---------------------------------------------------------------------------------------------- helpers

function actorOf(p: Principal): Actor {
  return { label: principalLabel(p), adminId: p.kind === "admin" ? p.admin.id : null };
}

const at = (ms: number, company: CompanyContext): string => formatLocalIso(ms, company.timezone);
const atOrNull = (ms: number | null, company: CompanyContext): string | null =>
  ms === null ? null : at(ms, company);

const invitationOut = (i: InvitationView, company: CompanyContext) => ({
  id: i.id,
  email: i.email,
  status: i.status,
  created_at: at(i.created_at_ms, company),
  expires_at: at(i.expires_at_ms, company),
  member_id: i.member_id,
});

const adminOut = (a: AdminView, company: CompanyContext) => ({
  id: a.id,
  email: a.email,
  name: a.name,
  role: a.role,
  privacy_acknowledged: a.privacy_acknowledged,
  created_at: at(a.created_at_ms, company),
});

const apiKeyOut = (k: ApiKeyView, company: CompanyContext) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  created_at: at(k.created_at_ms, company),
  last_used_at: atOrNull(k.last_used_at_ms, company),
  revoked_at: atOrNull(k.revoked_at_ms, company),
});

/** Where invitation links point: PUBLIC_URL when it is set, else the origin the request came to. */
function publicBase(c: Context<AppEnv>): string {
  const configured = c.get("deps").config.publicUrl;
  return (configured ?? new URL(c.req.url).origin).replace(/\/+$/, "");
}

// ----------------------------------------------------------------------------------------------- routes

export function peopleRoutes() {
  const app = createRouter();

  // ---- members

  app.openapi(
    createRoute({
      method: "get",
      path: "/members",
      tags: ["Members"],
      summary: "Members, searched and paged",
      request: { query: MembersQuery },
      responses: { 200: json(MemberListSchema), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MEMBERS_READ);
      const q = c.req.valid("query");
      const page = await listMembers(c.get("deps").db, company, {
        q: q.q,
        groupId: q.group,
        limit: q.limit,
        offset: q.offset,
      });
      return c.json({ total: page.total, limit: q.limit, offset: q.offset, members: page.members }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/members/{id}",
      tags: ["Members"],
      summary: "One member",
      request: { params: IdParam },
      responses: { 200: json(MemberSchema), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MEMBERS_READ);
      return c.json(await getMember(c.get("deps").db, company, c.req.valid("param").id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/members",
      tags: ["Members"],
      summary: "Create a business member",
      request: jsonBody(NewMemberSchema),
      responses: { 201: json(MemberSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const body = c.req.valid("json");
      const { db, clock } = c.get("deps");
      // argon2 is deliberately slow: hash before the transaction so it does not hold the write lock.
      const passwordHash = body.password === undefined ? null : await hashPassword(body.password);
      const member = await inTransaction(db, (tx) =>
        createBusinessMember(
          tx,
          company,
          {
            name: body.name,
            username: body.username,
            email: body.email,
            passwordHash,
            groupIds: body.groups,
          },
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(member, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/members/{id}",
      tags: ["Members"],
      summary: "Change a member's name, email or groups (a personal member's name and email are their own)",
      request: { params: IdParam, ...jsonBody(MemberPatchSchema) },
      responses: { 200: json(MemberSchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const body = c.req.valid("json");
      const { db, clock } = c.get("deps");
      const member = await inTransaction(db, (tx) =>
        updateMember(
          tx,
          company,
          c.req.valid("param").id,
          { name: body.name, email: body.email, groupIds: body.groups },
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(member, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/members/import",
      tags: ["Members"],
      summary:
        "Create business members from a CSV list (header first_name,last_name,email): all of them, or on the " +
        "first bad line none; usernames come from the email's local part, made unique",
      request: {
        body: {
          required: true,
          content: {
            "text/csv": {
              schema: z
                .string()
                .openapi({ example: "first_name,last_name,email\nBob,Byrne,bob@acme.example\n" }),
            },
          },
        },
      },
      responses: { 201: json(ImportedSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const rows = parseMembersCsv(await c.req.text());
      const { db, clock } = c.get("deps");
      const members = await inTransaction(db, (tx) =>
        importMembers(tx, company, rows, actorOf(principal), clock.now()),
      );
      return c.json({ created: members.length, members }, 201);
    },
  );

  // ---- invitations

  app.openapi(
    createRoute({
      method: "post",
      path: "/invitations",
      tags: ["Invitations"],
      summary: "Invite a person by email to join as a personal member (the link is valid 30 days)",
      request: jsonBody(NewInvitationSchema),
      responses: { 201: json(SentInvitationSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      const sent = await inTransaction(db, (tx) =>
        createInvitation(tx, company, c.req.valid("json"), actorOf(principal), clock.now()),
      );
      return c.json(
        {
          id: sent.id,
          email: sent.email,
          expires_at: at(sent.expires_at_ms, company),
          link: `${publicBase(c)}/invite/${sent.token}`,
          token: sent.token,
        },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/invitations",
      tags: ["Invitations"],
      summary: "Invitations: pending, accepted, declined or expired",
      responses: { 200: json(z.object({ invitations: z.array(InvitationSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MEMBERS_READ);
      const { db, clock } = c.get("deps");
      const list = await listInvitations(db, company, clock.now());
      return c.json({ invitations: list.map((i) => invitationOut(i, company)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/invitations/{id}",
      tags: ["Invitations"],
      summary: "Revoke an invitation that was not accepted: its link stops working",
      request: { params: IdParam },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      await inTransaction(db, (tx) =>
        revokeInvitation(tx, company, c.req.valid("param").id, actorOf(principal), clock.now()),
      );
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/invitations/by-token/{token}",
      tags: ["Invitations"],
      summary: "Public: what an invitation link is for (no sign-in needed)",
      security: [],
      request: { params: TokenParam },
      responses: { 200: json(PublicInvitationSchema), ...errorResponses },
    }),
    async (c) => {
      const { db, clock } = c.get("deps");
      const found = await describeInvitation(db, c.req.valid("param").token, clock.now());
      return c.json(
        {
          company: found.company,
          email: found.email,
          expires_at: new Date(found.expires_at_ms).toISOString(),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/invitations/by-token/{token}/accept",
      tags: ["Invitations"],
      summary: "Public: accept an invitation, creating your personal member account (then sign in)",
      security: [],
      request: { params: TokenParam, ...jsonBody(AcceptInvitationSchema) },
      responses: { 201: json(MemberSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { db, clock } = c.get("deps");
      const body = c.req.valid("json");
      const passwordHash = await hashPassword(body.password);
      const { member } = await inTransaction(db, (tx) =>
        acceptInvitation(
          tx,
          c.req.valid("param").token,
          { name: body.name, username: body.username, passwordHash },
          clock.now(),
        ),
      );
      return c.json(member, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/invitations/by-token/{token}/decline",
      tags: ["Invitations"],
      summary: "Public: decline an invitation",
      security: [],
      request: { params: TokenParam },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const { db, clock } = c.get("deps");
      await inTransaction(db, (tx) => declineInvitation(tx, c.req.valid("param").token, clock.now()));
      return c.body(null, 204);
    },
  );

  // ---- groups

  app.openapi(
    createRoute({
      method: "get",
      path: "/groups",
      tags: ["Groups"],
      summary: "Groups with their member counts",
      responses: { 200: json(z.object({ groups: z.array(GroupSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MEMBERS_READ);
      return c.json({ groups: await listGroups(c.get("deps").db, company) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/groups",
      tags: ["Groups"],
      summary: "Create a group",
      request: jsonBody(GroupInputSchema),
      responses: { 201: json(GroupSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      const group = await inTransaction(db, (tx) =>
        addGroup(tx, company, c.req.valid("json").name, actorOf(principal), clock.now()),
      );
      return c.json(group, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/groups/{id}",
      tags: ["Groups"],
      summary: "Rename a group",
      request: { params: IdParam, ...jsonBody(GroupInputSchema) },
      responses: { 200: json(GroupSchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      const group = await inTransaction(db, (tx) =>
        renameGroup(
          tx,
          company,
          c.req.valid("param").id,
          c.req.valid("json").name,
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(group, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/groups/{id}",
      tags: ["Groups"],
      summary: "Delete a group (its members stay, outside it)",
      request: { params: IdParam },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      await inTransaction(db, (tx) =>
        deleteGroup(tx, company, c.req.valid("param").id, actorOf(principal), clock.now()),
      );
      return c.body(null, 204);
    },
  );

  for (const [method, inGroup] of [
    ["put", true],
    ["delete", false],
  ] as const) {
    app.openapi(
      createRoute({
        method,
        path: "/groups/{id}/members/{memberId}",
        tags: ["Groups"],
        summary: inGroup ? "Put a member in a group" : "Take a member out of a group",
        request: { params: GroupMemberParams },
        responses: { 200: json(GroupSchema), ...errorResponses },
      }),
      async (c) => {
        const { principal, company } = await authorize(c, MEMBERS_WRITE);
        const { id: groupId, memberId } = c.req.valid("param");
        const { db, clock } = c.get("deps");
        const group = await inTransaction(db, (tx) =>
          setGroupMembership(tx, company, groupId, memberId, inGroup, actorOf(principal), clock.now()),
        );
        return c.json(group, 200);
      },
    );
  }

  // ---- SIP profiles

  app.openapi(
    createRoute({
      method: "get",
      path: "/sip-profiles",
      tags: ["SIP profiles"],
      summary: "SIP profiles with their balances",
      responses: { 200: json(z.object({ sip_profiles: z.array(SipProfileSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MEMBERS_READ);
      return c.json({ sip_profiles: await listSipProfiles(c.get("deps").db, company) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/sip-profiles",
      tags: ["SIP profiles"],
      summary: "Create a SIP profile (a PBX trunk with its own credit)",
      request: jsonBody(NewSipProfileSchema),
      responses: { 201: json(SipProfileSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      const sip = await inTransaction(db, (tx) =>
        addSipProfile(tx, company, c.req.valid("json"), actorOf(principal), clock.now()),
      );
      return c.json(sip, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/sip-profiles/{id}",
      tags: ["SIP profiles"],
      summary: 'Rename a SIP profile or change its channels (usage then names it "sip:" + the new name)',
      request: { params: IdParam, ...jsonBody(SipProfilePatchSchema) },
      responses: { 200: json(SipProfileSchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MEMBERS_WRITE);
      const { db, clock } = c.get("deps");
      const sip = await inTransaction(db, (tx) =>
        updateSipProfile(
          tx,
          company,
          c.req.valid("param").id,
          c.req.valid("json"),
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(sip, 200);
    },
  );

  // ---- admins (only owners add, change or remove them, §1)

  app.openapi(
    createRoute({
      method: "get",
      path: "/admins",
      tags: ["Admins"],
      summary: "The company's owners, admins and viewers",
      responses: { 200: json(z.object({ admins: z.array(AdminSchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, READ);
      const list = await listAdmins(c.get("deps").db, company);
      return c.json({ admins: list.map((a) => adminOut(a, company)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admins",
      tags: ["Admins"],
      summary: "Add an owner, admin or viewer (owners only)",
      request: jsonBody(NewAdminSchema),
      responses: { 201: json(AdminSchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, OWNER);
      const body = c.req.valid("json");
      const { db, clock } = c.get("deps");
      const passwordHash = await hashPassword(body.password);
      const admin = await inTransaction(db, (tx) =>
        addAdmin(
          tx,
          company,
          { email: body.email, name: body.name, role: body.role, passwordHash },
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(adminOut(admin, company), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/admins/{id}",
      tags: ["Admins"],
      summary: "Change an admin's role (owners only; the last owner stays an owner)",
      request: { params: IdParam, ...jsonBody(AdminPatchSchema) },
      responses: { 200: json(AdminSchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, OWNER);
      const { db, clock } = c.get("deps");
      const admin = await inTransaction(db, (tx) =>
        changeAdminRole(
          tx,
          company,
          c.req.valid("param").id,
          c.req.valid("json").role,
          actorOf(principal),
          clock.now(),
        ),
      );
      return c.json(adminOut(admin, company), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admins/{id}",
      tags: ["Admins"],
      summary: "Remove an admin and end their sessions (owners only; not yourself, not the last owner)",
      request: { params: IdParam },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, OWNER);
      const { db, clock } = c.get("deps");
      await inTransaction(db, (tx) =>
        removeAdmin(tx, company, c.req.valid("param").id, actorOf(principal), clock.now()),
      );
      return c.body(null, 204);
    },
  );

  // ---- API keys

  app.openapi(
    createRoute({
      method: "get",
      path: "/api-keys",
      tags: ["API keys"],
      summary: "The company's API keys (never the keys themselves)",
      responses: { 200: json(z.object({ api_keys: z.array(ApiKeySchema) })), ...errorResponses },
    }),
    async (c) => {
      const { company } = await authorize(c, MANAGE);
      const list = await listApiKeys(c.get("deps").db, company);
      return c.json({ api_keys: list.map((k) => apiKeyOut(k, company)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api-keys",
      tags: ["API keys"],
      summary: "Create an API key with scopes; the key is in this answer only",
      request: jsonBody(NewApiKeySchema),
      responses: { 201: json(CreatedApiKeySchema, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MANAGE);
      if (principal.kind !== "admin") throw needsAdmin("creating an API key");
      const body = c.req.valid("json");
      const { db, clock } = c.get("deps");
      const created = await inTransaction(db, (tx) =>
        createApiKey(tx, {
          companyId: company.id,
          name: body.name,
          scopes: [...new Set(body.scopes)],
          admin: principal.admin,
          nowMs: clock.now(),
        }),
      );
      const list = await listApiKeys(db, company);
      const view = list.find((k) => k.id === created.id);
      if (!view) throw new Error(`Assertion failed: API key ${created.id} was just created`);
      return c.json({ api_key: apiKeyOut(view, company), key: created.key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api-keys/{id}",
      tags: ["API keys"],
      summary: "Revoke an API key: its next request is refused",
      request: { params: IdParam },
      responses: { 200: json(ApiKeySchema), ...errorResponses },
    }),
    async (c) => {
      const { principal, company } = await authorize(c, MANAGE);
      const { db, clock } = c.get("deps");
      const key = await inTransaction(db, (tx) =>
        revokeApiKey(tx, company, c.req.valid("param").id, actorOf(principal), clock.now()),
      );
      return c.json(apiKeyOut(key, company), 200);
    },
  );

  // ---- company

  app.openapi(
    createRoute({
      method: "get",
      path: "/company",
      tags: ["Company"],
      summary: "The company, its balance, and how many days it lasts at the last 30 days' usage",
      responses: { 200: json(CompanySchema), ...errorResponses },
    }),
    async (c) => {
      const { company, principal } = await authorize(c, { ...READ, member: true, scope: "reports:read" });
      const { db, clock } = c.get("deps");
      const o = await companyOverview(db, company, clock.now());
      // A member sees the company's name and formats, never its money (PRODUCT.md §1).
      const money = principal.kind !== "member";
      return c.json(
        {
          id: o.id,
          name: o.name,
          currency: o.currency,
          timezone: o.timezone,
          balance: money ? formatAmount(o.balanceMinor, o.currency) : null,
          usage_last_30_days: money ? formatAmount(o.usageWindowMinor, o.currency) : null,
          days_left: money ? o.daysLeft : null,
        },
        200,
      );
    },
  );

  return app;
}
