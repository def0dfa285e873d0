import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { CollectingAudit } from "#adapters/collecting-audit";
import { issuesToFieldErrors } from "#core/config";
import { DomainError, invalidRequest } from "#core/errors";
import type * as z from "#core/schema";
import { type FunctionName, matchRoute, type Route, routes, routesOf } from "#lib/routes";
import { authorize } from "./auth.ts";
import { readJsonBody } from "./body.ts";
import type { HandlerDeps } from "./deps.ts";
import type { LogEntry } from "./log.ts";
import { type HttpResult, problem, toProblem } from "./problem.ts";

export interface RouteRequest<B> {
  route: Route;
  /** The app whose API key authenticated a client route. */
  appId: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: B;
  requestId: string;
  /** The caller's address as API Gateway saw it, for the audit trail. */
  ip: string | undefined;
  /** On admin routes: who is acting (the IAM principal, or `local-admin`), for the audit trail. */
  actor: string | undefined;
  /** Where the request arrived (API Gateway's domain and stage, the path as sent), for absolute URLs. */
  origin: { domainName: string | undefined; stage: string | undefined; rawPath: string };
}

export interface RouteImpl<B = unknown> {
  body?: z.ZodMiniType<B>;
  /** The one media type the body must have (415 `unsupported_media_type` otherwise); any JSON type when absent. */
  contentType?: string;
  run(request: RouteRequest<B>, deps: HandlerDeps): Promise<HttpResult>;
}

/** Keeps each route's body type tied to its schema. */
export const route = <B>(impl: RouteImpl<B>): RouteImpl<unknown> => impl as RouteImpl<unknown>;

export type RouteImpls = Record<string, RouteImpl<unknown>>;

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

export const json = (
  statusCode: number,
  value: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  body: JSON.stringify(value),
});

export const noContent = (): HttpResult => ({ statusCode: 204, headers: { "cache-control": "no-store" } });

/**
 * One Lambda entry point: finds the route, authenticates, parses and validates the body,
 * runs the use case, and turns every failure into problem+json. The same function serves
 * API Gateway in the cloud and the local server.
 */
export function createHandler(fn: FunctionName, impls: RouteImpls, getDeps: () => Promise<HandlerDeps>) {
  const served = routesOf(fn);
  for (const r of served) {
    if (!impls[`${r.method} ${r.path}`]) throw new Error(`${fn} does not implement ${r.method} ${r.path}`);
  }

  const core = async (event: Event, context: Context): Promise<Result> => {
    const deps = await getDeps();
    const found = resolveRoute(event);
    if ("allow" in found) return methodNotAllowed(found.allow);
    const impl = impls[`${found.route.method} ${found.route.path}`];
    if (!impl || found.route.fn !== fn) throw new DomainError("not_found", "No such route.");
    const headers = lowerCaseHeaders(event.headers);
    const appId = await authorize(deps, found.route, headers, event);
    if (impl.contentType) requireMediaType(headers["content-type"], impl.contentType);
    const raw = readJsonBody(event, headers, impl.body !== undefined);
    let body: unknown = raw;
    if (impl.body) {
      const parsed = impl.body.safeParse(raw);
      if (!parsed.success) throw invalidRequest(issuesToFieldErrors(parsed.error.issues));
      body = parsed.data;
    }
    const audit = deps.events ? new CollectingAudit(deps.audit) : undefined;
    try {
      return await impl.run(
        {
          route: found.route,
          appId,
          params: found.pathParameters,
          query: event.queryStringParameters ?? {},
          headers,
          body,
          requestId: event.requestContext?.requestId ?? context.awsRequestId,
          ip: event.requestContext?.http?.sourceIp,
          actor: found.route.auth === "admin" ? adminActor(event, deps) : undefined,
          origin: {
            domainName: event.requestContext?.domainName,
            stage: event.requestContext?.stage,
            rawPath: event.rawPath ?? "",
          },
        },
        audit ? { ...deps, audit } : deps,
      );
    } finally {
      // After the decision, whatever it was: the events of what happened, never of what was taken back.
      if (audit && audit.events().length > 0) await deps.events?.publish(audit.events());
    }
  };

  return problemDetails(getDeps, fn, core);
}

/** API Gateway names the matched route in `routeKey`; a `$default` catch-all (and any stage prefix) falls back to matching the path. */
function resolveRoute(
  event: Event,
): { route: Route; pathParameters: Record<string, string> } | { allow: string[] } {
  const byKey = routes.find((r) => `${r.method} ${r.path}` === event.routeKey);
  if (byKey)
    return { route: byKey, pathParameters: { ...(event.pathParameters ?? {}) } as Record<string, string> };
  const method = event.requestContext?.http?.method ?? "GET";
  const path = event.rawPath ?? event.requestContext?.http?.path ?? "/";
  const match = matchRoute(method, path);
  if (match.kind === "found") return match;
  if (match.kind === "method_not_allowed") return { allow: match.allow };
  throw new DomainError("not_found", "No such route.");
}

function requireMediaType(header: string | undefined, wanted: string): void {
  const sent = header?.split(";")[0]?.trim().toLowerCase();
  if (sent !== wanted) {
    throw new DomainError(
      "unsupported_media_type",
      `Send the body as ${wanted}${sent ? `, not ${sent}` : " (no Content-Type was sent)"}.`,
    );
  }
}

function adminActor(event: Event, deps: HandlerDeps): string | undefined {
  if (deps.adminAuth.kind === "token") return "local-admin";
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string; callerId?: string } } })
    .authorizer?.iam;
  return iam?.userArn ?? iam?.callerId;
}

function lowerCaseHeaders(headers: Event["headers"] | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * Last line of defence: every error becomes problem+json. One log line per request: INFO for
 * an answer (a 4xx included: the caller's mistake, not ours), WARN with the error for a
 * dependency's fault answered 502 or 503 (a provider, the store, a stored config), ERROR with
 * the error and its stack for anything unexpected. Never a body, header or secret.
 *
 * A plain wrapper, not a middleware stack: with one layer there is nothing to compose, and
 * @middy/core loads Node's web streams at import for response streaming this API never uses
 * (2.5 ms of every cold start). What it did besides, this does too: a request still running
 * just before the function's timeout is answered (`beforeDeadline`).
 */
function problemDetails(
  getDeps: () => Promise<HandlerDeps>,
  fn: FunctionName,
  core: (event: Event, context: Context) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  const log = async (
    event: Event,
    started: number,
    entry: Pick<LogEntry, "level"> & Record<string, unknown>,
  ) => {
    const line: LogEntry = {
      msg: "request",
      fn,
      route: event.routeKey,
      requestId: event.requestContext?.requestId,
      ms: Date.now() - started,
      ...entry,
    };
    const deps = await getDeps().catch(() => undefined);
    try {
      if (deps?.log) return deps.log(line);
    } catch {
      // A logger that fails must not change the answer; the line still goes out, below.
    }
    // Without its dependencies (or its logger) a function cannot log through them; the reason must still show.
    console.error(JSON.stringify({ ...line, error: describe(line.error) }));
  };
  return async (event, context) => {
    const started = Date.now();
    let response: Result;
    try {
      const deps = await getDeps().catch(() => undefined);
      deps?.beginRequest?.(event, context);
      response = await beforeDeadline(core(event, context), context);
    } catch (error) {
      const { result, kind } = toProblem(error);
      const status = result.statusCode;
      if (kind === "domain") {
        await log(event, started, { level: "info", status, code: (error as DomainError).code });
      } else {
        const operation = (error as { operation?: string } | null)?.operation;
        await log(event, started, {
          level: kind === "unexpected" ? "error" : "warn",
          status,
          code: kind === "provider" ? "delivery_failed" : "unavailable",
          errorClass: kind,
          ...(operation ? { operation } : {}),
          error,
        });
      }
      return result;
    }
    await log(event, started, { level: "info", status: response.statusCode ?? 200 });
    return response;
  };
}

/** Lambda's deadline, minus this, is when a request still running is answered 503 and logged, not cut off unlogged. */
export const DEADLINE_MARGIN_MS = 5;

/** A request that ran out of the function's time: answered 503 problem+json and logged at ERROR with its stack. */
export class DeadlineExceeded extends Error {
  constructor(remainingMs: number) {
    super(`the request was still running ${remainingMs} ms before the function's timeout`);
    this.name = "DeadlineExceeded";
  }
}

/**
 * Settles with `work`, or with DeadlineExceeded just before Lambda would stop the invocation
 * (API Gateway would then answer a bare 500 and no request line would be logged). The work
 * itself is not cancelled and may still complete, as after any timeout: a client that retries
 * a send should give it an Idempotency-Key.
 */
function beforeDeadline<T>(work: Promise<T>, context: Context): Promise<T> {
  const remaining = context.getRemainingTimeInMillis?.();
  if (remaining === undefined || !Number.isFinite(remaining)) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineExceeded(DEADLINE_MARGIN_MS)),
      Math.max(0, remaining - DEADLINE_MARGIN_MS),
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

const describe = (error: unknown) =>
  error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : error;

export const methodNotAllowed = (allow: string[]): HttpResult =>
  problem(new DomainError("method_not_allowed", `Use ${allow.join(", ")} on this path.`), {
    allow: allow.join(", "),
  });
