/**
 * The one request-dependent part of the OpenAPI document: `servers`, the URL the caller used.
 * No zod here: the Lambda serves a document built at build time (`openapi-served.ts`).
 */

/** Where a request reached the service: API Gateway's (or the local server's) view of it. */
export interface RequestOrigin {
  /** `requestContext.domainName`: the API's host (locally the Host header). */
  domainName?: string;
  /** `requestContext.stage`. */
  stage?: string;
  /** The path as requested, stage or custom-domain mapping included. */
  rawPath?: string;
  /** `X-Forwarded-Proto` as API Gateway (or the local server) sets it. */
  proto?: string;
}

const DOCUMENT_PATH = "/openapi.json";

/**
 * The base URL the caller used to fetch this document: scheme and host, plus whatever precedes
 * `/openapi.json` in the path (a named stage, a custom domain's mapping). Undefined when the
 * origin is unknown or the host does not look like one.
 */
export function serverUrl(origin: RequestOrigin): string | undefined {
  const host = origin.domainName ?? "";
  if (!/^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return undefined;
  const base =
    origin.rawPath?.endsWith(DOCUMENT_PATH) === true
      ? origin.rawPath.slice(0, -DOCUMENT_PATH.length)
      : origin.stage && origin.stage !== "$default"
        ? `/${origin.stage}`
        : "";
  if (!/^(?:\/[A-Za-z0-9._~-]+)*$/.test(base)) return undefined;
  const scheme = origin.proto?.toLowerCase() === "http" ? "http" : "https";
  return `${scheme}://${host}${base}`;
}

/** `body` (the document without `servers`) as served to a caller who reached it at `origin`. */
export function withServers(
  body: Record<string, unknown>,
  origin: RequestOrigin = {},
): Record<string, unknown> {
  const url = serverUrl(origin);
  const { info, ...rest } = body;
  return {
    openapi: "3.1.0",
    info,
    servers: [
      url
        ? { url, description: "The deployment that served this document" }
        : { url: "/", description: "The host that serves this document" },
    ],
    ...rest,
  };
}
