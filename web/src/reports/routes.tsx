/**
 * @module The Reports area's routes (Summary, Purchases, Allocations, Usage, Download Reports). The area's
 * code (tables, virtual scrolling) loads with its first route, outside the app's entry chunk; charts load
 * later still, with Summary's pictures.
 */
import type { RouteObject } from "react-router";

const pages = () => import("./pages");

export const reportRoutes: RouteObject[] = [
  {
    path: "reports",
    lazy: async () => ({ Component: (await import("./ReportsLayout")).ReportsLayout }),
    children: [
      { index: true, lazy: async () => ({ Component: (await pages()).ReportsIndex }) },
      { path: "summary", lazy: async () => ({ Component: (await pages()).SummaryPage }) },
      { path: "purchases", lazy: async () => ({ Component: (await pages()).PurchasesPage }) },
      { path: "allocations", lazy: async () => ({ Component: (await pages()).AllocationsIndex }) },
      { path: "allocations/:feature", lazy: async () => ({ Component: (await pages()).AllocationsPage }) },
      { path: "usage", lazy: async () => ({ Component: (await pages()).UsagePicker }) },
      { path: "usage/:subject", lazy: async () => ({ Component: (await pages()).UsagePage }) },
      {
        path: "download",
        lazy: async () => ({ Component: (await import("./DownloadPage")).DownloadPage }),
      },
    ],
  },
];
