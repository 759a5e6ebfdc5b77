/** @module The management area's routes (members, SIP profiles, buying, allocating, rules, admins, audit log). */
import type { RouteObject } from "react-router";

export const manageRoutes: RouteObject[] = [];
