import { DomainError } from "#core/errors";
import { problem } from "#http/problem";
import { consoleAsset } from "./console-assets.ts";
import { buildEvent, invokeHandler, type LambdaHandler, type LocalRouteHandler } from "./local-server.ts";
import { type FunctionName, matchRoute, type Route } from "./routes.ts";

const notFound = () => problem(new DomainError("not_found", "No such route."));

/**
 * The stack listens on loopback; a page reaching it under another name got there by DNS
 * rebinding (its own origin then matches the Host it sends), so only loopback names are served.
 */
const LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** Request headers the admin handlers read; everything else (cookies, a sent authorization) stays behind. */
const FORWARDED = ["content-type", "if-match", "user-agent"] as const;

/**
 * The admin console on the local stack: `/` (links to everything the stack serves),
 * `/console/` and its files, and same-origin proxies `/console/api/admin/...` →
 * `/v1/admin/...` that add the admin token here, so the token never reaches the browser.
 * Requests from another origin are refused: no other site can drive the admin API through them.
 */
export function consoleRoute(
  route: Route,
  ctx: { handlers: Record<FunctionName, LambdaHandler>; adminToken: () => string },
): LocalRouteHandler | undefined {
  if (route.method === "GET" && route.path === "/") {
    return async () => (await consoleAsset("/console/home.html")) ?? notFound();
  }
  if (route.method === "GET" && (route.path === "/console/" || route.path === "/console/{file}")) {
    return async ({ path }) => (await consoleAsset(path)) ?? notFound();
  }
  if (!route.path.startsWith("/console/api/")) return undefined;
  return async ({ path, query, headers, body }) => {
    const origin = headers.origin;
    const site = headers["sec-fetch-site"];
    if (
      !LOOPBACK_HOST.test(headers.host ?? "") ||
      (origin !== undefined && origin !== `http://${headers.host ?? ""}`) ||
      (site !== undefined && site !== "same-origin" && site !== "none")
    ) {
      return problem(new DomainError("forbidden", "The console proxy answers its own page only."));
    }
    const target = `/v1/${path.slice("/console/api/".length)}`;
    const match = matchRoute(route.method, target);
    if (match.kind !== "found" || match.route.auth !== "admin" || match.route.fn === "local")
      return notFound();
    const forwarded: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = headers[name];
      if (value !== undefined) forwarded[name] = value;
    }
    const search = query.toString();
    const event = buildEvent({
      method: route.method,
      path: search === "" ? target : `${target}?${search}`,
      headers: { ...forwarded, authorization: `Bearer ${ctx.adminToken()}` },
      body,
    });
    return invokeHandler(ctx.handlers, match.route.fn, event);
  };
}
