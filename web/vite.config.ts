import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The web app is served by `switchboard serve` from web/dist; in development, `vite` proxies /api to it.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { "/api": "http://127.0.0.1:3000" } },
});
