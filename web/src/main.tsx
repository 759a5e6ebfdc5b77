/** @module The web app's entry: data fetching, languages, routes. It talks to the server only through /api/v1. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, RouterProvider } from "react-router";
import { AppShell } from "./components/AppShell";
import { SignIn } from "./components/SignIn";
import "./i18n";
import { manageRoutes } from "./manage/routes";
import { meRoutes, publicRoutes } from "./me/routes";
import { reportRoutes } from "./reports/routes";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
});

const router = createBrowserRouter([
  { path: "/login", element: <SignIn /> },
  ...publicRoutes,
  {
    path: "/",
    element: <AppShell />,
    children: [
      { index: true, element: <Navigate to="/reports/summary" replace /> },
      ...reportRoutes,
      ...manageRoutes,
      ...meRoutes,
    ],
  },
]);

const root = document.getElementById("root");
if (root)
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  );
