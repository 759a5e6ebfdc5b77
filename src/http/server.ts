/** @module Running the HTTP app on a port, with graceful shutdown (finish requests, stop the scheduler, close the database). */
import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { createApp } from "./app";
import type { ServerDeps } from "./context";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  deps: ServerDeps,
  onStop: (() => Promise<void>)[] = [],
): Promise<RunningServer> {
  const app = createApp(deps);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: deps.config.port, hostname: deps.config.host }, () =>
      resolve(s),
    );
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : deps.config.port;
  const host = deps.config.host.includes(":") ? `[${deps.config.host}]` : deps.config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/`,
    close() {
      closing ??= (async () => {
        for (const stop of onStop) await stop();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
