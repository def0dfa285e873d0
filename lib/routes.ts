/**
 * THE route table. The cloud stack turns every non-local route into an API Gateway
 * route integrated with `fn`; the local server matches requests against it and calls
 * the same handlers. Each entry point implements exactly the routes that name it.
 */
export type FunctionName = "send" | "verify" | "enroll" | "admin-config";

/** client: app API key. admin: IAM in the cloud, admin token locally. public: none. local: served only by `npm start`. */
export type AuthKind = "client" | "admin" | "public" | "local";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  /** The Lambda that serves it; `local` routes are served by the local stack itself. */
  readonly fn: FunctionName | "local";
  readonly auth: AuthKind;
}

export const routes = [
  // enroll
  { method: "POST", path: "/v1/users/{userId}/factors", fn: "enroll", auth: "client" },
  { method: "POST", path: "/v1/users/{userId}/factors/{factorId}/activate", fn: "enroll", auth: "client" },
  { method: "GET", path: "/v1/users/{userId}/factors", fn: "enroll", auth: "client" },
  { method: "DELETE", path: "/v1/users/{userId}/factors/{factorId}", fn: "enroll", auth: "client" },
  { method: "POST", path: "/v1/users/{userId}/recovery-codes", fn: "enroll", auth: "client" },
  { method: "DELETE", path: "/v1/users/{userId}/mfa", fn: "enroll", auth: "client" },
  // send
  { method: "POST", path: "/v1/challenges", fn: "send", auth: "client" },
  // verify
  { method: "POST", path: "/v1/verifications", fn: "verify", auth: "client" },
  { method: "POST", path: "/v1/sessions/validate", fn: "verify", auth: "client" },
  { method: "DELETE", path: "/v1/users/{userId}/sessions", fn: "verify", auth: "client" },
  // admin
  { method: "POST", path: "/v1/admin/apps", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps", fn: "admin-config", auth: "admin" },
  { method: "POST", path: "/v1/admin/apps/{appId}/api-keys", fn: "admin-config", auth: "admin" },
  { method: "DELETE", path: "/v1/admin/apps/{appId}/api-keys/{keyId}", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps/{appId}/users/{userId}", fn: "admin-config", auth: "admin" },
  { method: "POST", path: "/v1/admin/apps/{appId}/users/{userId}/unlock", fn: "admin-config", auth: "admin" },
  { method: "POST", path: "/v1/admin/apps/{appId}/sessions/revoke-all", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps/{appId}/audit", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps/{appId}/config", fn: "admin-config", auth: "admin" },
  { method: "PUT", path: "/v1/admin/apps/{appId}/config", fn: "admin-config", auth: "admin" },
  { method: "PATCH", path: "/v1/admin/apps/{appId}/config", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps/{appId}/doctor", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/secrets", fn: "admin-config", auth: "admin" },
  { method: "PUT", path: "/v1/admin/secrets/{name}", fn: "admin-config", auth: "admin" },
  { method: "POST", path: "/v1/admin/apps/{appId}/test-message", fn: "admin-config", auth: "admin" },
  { method: "GET", path: "/v1/admin/apps/{appId}/sms-protection", fn: "admin-config", auth: "admin" },
  {
    method: "POST",
    path: "/v1/admin/apps/{appId}/sms-protection/resume",
    fn: "admin-config",
    auth: "admin",
  },
  { method: "GET", path: "/healthz", fn: "admin-config", auth: "public" },
  { method: "GET", path: "/openapi.json", fn: "admin-config", auth: "public" },
  // local stack only
  { method: "GET", path: "/dev/outbox", fn: "local", auth: "local" },
  { method: "GET", path: "/dev/clock", fn: "local", auth: "local" },
  { method: "POST", path: "/dev/clock", fn: "local", auth: "local" },
  { method: "GET", path: "/dev/events", fn: "local", auth: "local" },
  // the demo client app: its page, and same-origin proxies to the client routes that add the default app's key
  { method: "GET", path: "/demo/", fn: "local", auth: "local" },
  { method: "GET", path: "/demo/demo.js", fn: "local", auth: "local" },
  { method: "GET", path: "/demo/demo.css", fn: "local", auth: "local" },
  { method: "POST", path: "/demo/api/users/{userId}/factors", fn: "local", auth: "local" },
  { method: "GET", path: "/demo/api/users/{userId}/factors", fn: "local", auth: "local" },
  {
    method: "POST",
    path: "/demo/api/users/{userId}/factors/{factorId}/activate",
    fn: "local",
    auth: "local",
  },
  { method: "DELETE", path: "/demo/api/users/{userId}/factors/{factorId}", fn: "local", auth: "local" },
  { method: "POST", path: "/demo/api/users/{userId}/recovery-codes", fn: "local", auth: "local" },
  { method: "DELETE", path: "/demo/api/users/{userId}/mfa", fn: "local", auth: "local" },
  { method: "DELETE", path: "/demo/api/users/{userId}/sessions", fn: "local", auth: "local" },
  { method: "POST", path: "/demo/api/challenges", fn: "local", auth: "local" },
  { method: "POST", path: "/demo/api/verifications", fn: "local", auth: "local" },
  { method: "POST", path: "/demo/api/sessions/validate", fn: "local", auth: "local" },
  // the admin console: the local stack's home page, the console's files, and same-origin proxies
  // to the admin routes that add the admin token here (see lib/local-console.ts)
  { method: "GET", path: "/", fn: "local", auth: "local" },
  { method: "GET", path: "/console/", fn: "local", auth: "local" },
  { method: "GET", path: "/console/{file}", fn: "local", auth: "local" },
  { method: "POST", path: "/console/api/admin/apps", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps", fn: "local", auth: "local" },
  { method: "POST", path: "/console/api/admin/apps/{appId}/api-keys", fn: "local", auth: "local" },
  { method: "DELETE", path: "/console/api/admin/apps/{appId}/api-keys/{keyId}", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps/{appId}/users/{userId}", fn: "local", auth: "local" },
  {
    method: "POST",
    path: "/console/api/admin/apps/{appId}/users/{userId}/unlock",
    fn: "local",
    auth: "local",
  },
  { method: "POST", path: "/console/api/admin/apps/{appId}/sessions/revoke-all", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps/{appId}/audit", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps/{appId}/config", fn: "local", auth: "local" },
  { method: "PUT", path: "/console/api/admin/apps/{appId}/config", fn: "local", auth: "local" },
  { method: "PATCH", path: "/console/api/admin/apps/{appId}/config", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps/{appId}/doctor", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/secrets", fn: "local", auth: "local" },
  { method: "PUT", path: "/console/api/admin/secrets/{name}", fn: "local", auth: "local" },
  { method: "POST", path: "/console/api/admin/apps/{appId}/test-message", fn: "local", auth: "local" },
  { method: "GET", path: "/console/api/admin/apps/{appId}/sms-protection", fn: "local", auth: "local" },
  {
    method: "POST",
    path: "/console/api/admin/apps/{appId}/sms-protection/resume",
    fn: "local",
    auth: "local",
  },
] as const satisfies readonly Route[];

export type RouteKey = `${(typeof routes)[number]["method"]} ${(typeof routes)[number]["path"]}`;

export const routeKey = (route: Route): string => `${route.method} ${route.path}`;

export const routesOf = (fn: FunctionName): Route[] => routes.filter((r) => r.fn === fn);

export type RouteMatch =
  | { kind: "found"; route: Route; pathParameters: Record<string, string> }
  | { kind: "method_not_allowed"; allow: HttpMethod[] }
  | { kind: "not_found" };

interface CompiledRoute {
  route: Route;
  names: string[];
  pattern: RegExp;
}

// Compiled on the first match: in the cloud API Gateway names the route (`routeKey`), so a Lambda never needs these.
let compiled: CompiledRoute[] | undefined;
const compile = (): CompiledRoute[] =>
  routes.map((route) => {
    const names: string[] = [];
    const source = route.path
      .split("/")
      .map((segment) => {
        const param = /^\{(\w+)\}$/.exec(segment);
        if (!param?.[1]) return segment.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
        names.push(param[1]);
        return "([^/]+)";
      })
      .join("/");
    return { route: route as Route, names, pattern: new RegExp(`^${source}$`) };
  });

/** Matches a raw request path (no query) the way API Gateway does, including 405 for a known path. */
export function matchRoute(method: string, path: string): RouteMatch {
  const allow: HttpMethod[] = [];
  compiled ??= compile();
  for (const { route, names, pattern } of compiled) {
    const m = pattern.exec(path);
    if (!m) continue;
    if (route.method !== method.toUpperCase()) {
      allow.push(route.method);
      continue;
    }
    const pathParameters: Record<string, string> = {};
    let decodable = true;
    names.forEach((name, i) => {
      try {
        pathParameters[name] = decodeURIComponent(m[i + 1] ?? "");
      } catch {
        decodable = false;
      }
    });
    if (!decodable) return { kind: "not_found" };
    return { kind: "found", route, pathParameters };
  }
  return allow.length > 0 ? { kind: "method_not_allowed", allow } : { kind: "not_found" };
}
