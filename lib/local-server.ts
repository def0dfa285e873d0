import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { DomainError, invalidRequest } from "#core/errors";
import { MAX_BODY_BYTES } from "#http/body";
import { methodNotAllowed } from "#http/handler";
import { type HttpResult, problem, toProblem } from "#http/problem";
import { type FunctionName, matchRoute, type Route } from "./routes.ts";

export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
export type LocalRouteHandler = (request: {
  route: Route;
  /** The request path as sent (no query). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
}) => Promise<HttpResult>;

/** A request target is a path; `//x` must not be read as a host. */
function requestUrl(target: string): URL {
  try {
    return new URL(`http://localhost${target.startsWith("/") ? target : `/${target}`}`);
  } catch {
    // Unparseable targets match no route: they get the ordinary 404.
    return new URL("http://localhost/%00");
  }
}

/** Past this the socket is not read further; the handler itself refuses anything over 16 KiB. */
const READ_LIMIT_BYTES = 4 * MAX_BODY_BYTES;

/**
 * The local stand-in for API Gateway: matches `lib/routes.ts`, builds the same v2 event
 * API Gateway would, and calls the real Lambda handler for the route.
 */
export function createLocalServer(
  handlers: Record<FunctionName, LambdaHandler>,
  localRoutes: (route: Route) => LocalRouteHandler | undefined,
): Server {
  return createServer((req, res) => {
    handle(req, res, handlers, localRoutes).catch((error: unknown) => {
      send(res, toProblem(error).result);
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: Record<FunctionName, LambdaHandler>,
  localRoutes: (route: Route) => LocalRouteHandler | undefined,
): Promise<void> {
  const url = requestUrl(req.url ?? "/");
  const method = (req.method ?? "GET").toUpperCase();
  const body = await readBody(req);
  if (body === undefined) {
    const tooLarge = problem(
      invalidRequest([{ path: "(body)", message: `larger than ${MAX_BODY_BYTES} bytes` }]),
    );
    send(res, { ...tooLarge, headers: { ...tooLarge.headers, connection: "close" } });
    return;
  }
  const match = matchRoute(method, url.pathname);
  if (match.kind === "not_found") return send(res, problem(new DomainError("not_found", "No such route.")));
  if (match.kind === "method_not_allowed") return send(res, methodNotAllowed(match.allow));
  const { route } = match;

  if (route.fn === "local") {
    const local = localRoutes(route);
    if (!local) return send(res, problem(new DomainError("not_found", "No such route.")));
    return send(
      res,
      await local({ route, path: url.pathname, query: url.searchParams, headers: headersOf(req), body }),
    );
  }

  send(res, await invokeHandler(handlers, route.fn, toEvent(req, body)));
}

/** Calls a function's handler with the v2 event as Lambda would, and reads its answer as an HTTP result. */
export async function invokeHandler(
  handlers: Record<FunctionName, LambdaHandler>,
  fn: FunctionName,
  event: APIGatewayProxyEventV2,
): Promise<HttpResult> {
  const result = (await handlers[fn](event, lambdaContext(fn, event))) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 200,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
    body: result.body,
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > READ_LIMIT_BYTES) {
        // Keep draining (and discarding) so the answer can go out; the connection then closes.
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export interface EventInput {
  method: string;
  /** Path with an optional query string: `/v1/users/alice/factors?x=1`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  sourceIp?: string;
  protocol?: string;
}

/** The API Gateway HTTP API (payload 2.0) event for a request, as API Gateway would build it. */
export function buildEvent(input: EventInput): APIGatewayProxyEventV2 {
  const url = requestUrl(input.path);
  const method = input.method.toUpperCase();
  const match = matchRoute(method, url.pathname);
  const route = match.kind === "found" ? match.route : undefined;
  const pathParameters = match.kind === "found" ? match.pathParameters : {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const now = Date.now();
  const routeKey = route ? `${route.method} ${route.path}` : "$default";
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : undefined,
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "localhost",
      http: {
        method,
        path: url.pathname,
        protocol: input.protocol ?? "HTTP/1.1",
        sourceIp: input.sourceIp ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: input.body === undefined || input.body === "" ? undefined : input.body,
    isBase64Encoded: false,
  };
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

function toEvent(req: IncomingMessage, body: string): APIGatewayProxyEventV2 {
  return buildEvent({
    method: req.method ?? "GET",
    path: req.url ?? "/",
    // API Gateway tells the function the scheme the client used; here it is always plain HTTP.
    headers: { ...headersOf(req), "x-forwarded-proto": "http" },
    body,
    sourceIp: req.socket.remoteAddress,
    protocol: `HTTP/${req.httpVersion}`,
  });
}

function lambdaContext(fn: FunctionName, event: APIGatewayProxyEventV2): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn}`,
    memoryLimitInMB: "512",
    awsRequestId: event.requestContext.requestId,
    logGroupName: `/aws/lambda/${fn}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, result: HttpResult): void {
  if (res.headersSent) return;
  res.writeHead(result.statusCode, result.headers);
  res.end(result.body);
}

export const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
