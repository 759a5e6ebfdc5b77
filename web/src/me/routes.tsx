/** @module A member's own page and the invitation page. */
import type { RouteObject } from "react-router";

export const meRoutes: RouteObject[] = [];
/** Routes shown without signing in (accepting an invitation). */
export const publicRoutes: RouteObject[] = [];
