import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { AppConfig } from "#core/config";
import { DomainError } from "#core/errors";
import type { Deps } from "#core/ports";
import { type ConfigRulesDeps, getAppConfig, updateAppConfig } from "#core/use-cases/app-config";
import { problem } from "#http/problem";
import { pageHeaders } from "./console-assets.ts";
import { buildEvent, invokeHandler, type LambdaHandler, type LocalRouteHandler } from "./local-server.ts";
import { type FunctionName, matchRoute, type Route } from "./routes.ts";

/** The origin the demo page runs on: WebAuthn needs a secure context and an rpId matching the host, so localhost. */
export const demoOrigin = (port: number): string => `http://localhost:${port}`;

/** The default app's first config: WebAuthn for the demo page on localhost, so it works on first `npm start`. */
export const withLocalWebauthn =
  (origin: string) =>
  (config: AppConfig): AppConfig => ({
    ...config,
    webauthn: { ...config.webauthn, rpId: "localhost", origins: [origin] },
  });

/**
 * A default app made before WebAuthn, or by a start on another port: its relying party is set
 * to localhost, or this port's origin added. An app configured for another rpId is left alone.
 */
export async function ensureLocalWebauthn(
  deps: Pick<Deps, "store" | "audit" | "clock"> & ConfigRulesDeps,
  appId: string,
  origin: string,
): Promise<void> {
  const { config, version } = await getAppConfig(deps, appId);
  const { rpId, origins } = config.webauthn;
  if (rpId !== null && (rpId !== "localhost" || origins.includes(origin))) return;
  const { version: _, ...document } = withLocalWebauthn(origin)(config);
  if (rpId === "localhost") document.webauthn.origins = [...origins, origin].slice(-20);
  await updateAppConfig(deps, { appId, body: document, ifMatch: version, actor: "local-stack" });
}

// `new URL` rather than `import.meta.dirname`, which Node 20 has only from 20.11 (engines says >= 20).
const DEMO_DIR = fileURLToPath(new URL("./demo/", import.meta.url));

/** The demo page's files: a fixed list, so no request path ever reaches the file system. */
const DEMO_FILES: Record<string, { file: string; type: string }> = {
  "/demo/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/demo/demo.js": { file: "demo.js", type: "text/javascript; charset=utf-8" },
  "/demo/demo.css": { file: "demo.css", type: "text/css; charset=utf-8" },
};

/**
 * A proxied call must come from the demo page itself: a browser sends `Origin` on every
 * cross-origin fetch and on every non-GET, and `Sec-Fetch-Site` on every request it makes.
 */
function fromDemoPage(headers: Record<string, string>): boolean {
  const origin = headers.origin;
  if (origin !== undefined && origin !== `http://${headers.host ?? ""}`) return false;
  const site = headers["sec-fetch-site"];
  return site === undefined || site === "same-origin";
}

/**
 * `/demo/`: the demo client app's files (one strict CSP, the console's: no inline code), and
 * same-origin proxies (`/demo/api/...` → `/v1/...`) that add the default app's API key here, so
 * the key never reaches the browser. Requests from another origin are refused: no other site can
 * drive the default app through them.
 */
export function demoRoute(
  route: Route,
  ctx: { handlers: Record<FunctionName, LambdaHandler>; apiKey: () => string },
): LocalRouteHandler | undefined {
  const asset = route.method === "GET" ? DEMO_FILES[route.path] : undefined;
  if (asset) {
    return async () => ({
      statusCode: 200,
      headers: pageHeaders(asset.type),
      body: await readFile(`${DEMO_DIR}${asset.file}`, "utf8"),
    });
  }
  if (!route.path.startsWith("/demo/api/")) return undefined;
  return async ({ path, headers, body }) => {
    if (!fromDemoPage(headers)) {
      return problem(new DomainError("forbidden", "The demo proxy answers its own page only."));
    }
    const target = `/v1/${path.slice("/demo/api/".length)}`;
    const match = matchRoute(route.method, target);
    if (match.kind !== "found" || match.route.auth !== "client" || match.route.fn === "local") {
      return problem(new DomainError("not_found", "No such route."));
    }
    const event = buildEvent({
      method: route.method,
      path: target,
      headers: { authorization: `Bearer ${ctx.apiKey()}`, "content-type": "application/json" },
      body,
    });
    return invokeHandler(ctx.handlers, match.route.fn, event);
  };
}
