/** @module The Reports area's routes (Summary, Purchases, Allocations, Usage, Download Reports). */
import type { RouteObject } from "react-router";

export const reportRoutes: RouteObject[] = [];
