import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { StoreUnavailable } from "#core/errors";
import { cloudLogger, contextFor, logTo } from "#http/cloud-logger";
import type { HandlerDeps } from "#http/deps";
import { createHandler, json, route } from "#http/handler";
import { buildEvent } from "#lib/local-server";
import { sendRoutes } from "../../functions/send.ts";
import { stopEmulator, type TestDeps, testDeps } from "../support/deps.ts";

/** Powertools Logger writes through a Console on process.stdout/stderr: what Lambda ships to CloudWatch. */
let written: string[] = [];
const capture = () => {
  written = [];
  const keep = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(keep);
  vi.spyOn(process.stderr, "write").mockImplementation(keep);
};
const lines = () =>
  written
    .join("")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

let deps: TestDeps;
let apiKey = "";
let appId = "";
beforeAll(async () => {
  deps = await testDeps();
  ({ apiKey, appId } = await deps.createApp("Log Co"));
});
afterAll(async () => {
  await stopEmulator();
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.POWERTOOLS_LOG_LEVEL;
});

const context = (requestId: string) =>
  ({
    functionName: "otp-send",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:otp-send",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
  }) as Context;

function cloudHandler(routes = sendRoutes) {
  const logger = cloudLogger();
  const handlerDeps: HandlerDeps = {
    ...deps,
    adminAuth: { kind: "iam" },
    log: logTo(logger),
    beginRequest: contextFor(logger),
  };
  return createHandler("send", routes, async () => handlerDeps);
}

const call = async (
  handler: ReturnType<typeof createHandler>,
  body: unknown,
  requestId: string,
  remainingMs?: number,
) => {
  const event = buildEvent({
    method: "POST",
    path: "/v1/challenges",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  event.requestContext.requestId = `apigw-${requestId}`;
  const lambdaContext = context(`lambda-${requestId}`);
  if (remainingMs !== undefined) lambdaContext.getRemainingTimeInMillis = () => remainingMs;
  return (await handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
};

describe("cloud logs (Powertools Logger)", () => {
  it("writes one JSON line per request with level, service, Lambda context, cold start and API Gateway's request id", async () => {
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand"; // as Lambda sets it
    const handler = cloudHandler();
    delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    await deps.enrollActive({ appId, userId: "logan", type: "email", email: "logan@example.com" });
    capture();
    const first = await call(handler, { userId: "logan", channel: "email" }, "1");
    const second = await call(handler, { userId: "nobody", channel: "email" }, "2");
    vi.restoreAllMocks();
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(404);
    const [a, b] = lines();
    expect(a).toMatchObject({
      level: "INFO",
      message: "request",
      service: "otp-service",
      function_name: "otp-send",
      function_request_id: "lambda-1",
      correlation_id: "apigw-1",
      cold_start: true,
      fn: "send",
      route: "POST /v1/challenges",
      status: 201,
    });
    expect(typeof a.ms).toBe("number");
    expect(typeof a.timestamp).toBe("string");
    expect(b).toMatchObject({
      level: "INFO",
      status: 404,
      code: "no_factor",
      correlation_id: "apigw-2",
      cold_start: false,
    });
    // The code that went out is in no line.
    expect(written.join("")).not.toContain(deps.latestCode("logan@example.com"));
  });

  it("logs a store fault at WARN and an unexpected error at ERROR, each with its stack; the answers are 503 problem+json", async () => {
    const failing = cloudHandler({
      "POST /v1/challenges": route({
        run: async () => {
          throw new StoreUnavailable("store.getUser", { cause: new Error("socket hang up") });
        },
      }),
    });
    const broken = cloudHandler({
      "POST /v1/challenges": route({
        run: async () => {
          const missing = undefined as unknown as { field: string };
          return json(200, { x: missing.field });
        },
      }),
    });
    capture();
    const store = await call(failing, { userId: "x", channel: "email" }, "3");
    const bug = await call(broken, { userId: "x", channel: "email" }, "4");
    vi.restoreAllMocks();
    expect([store.statusCode, bug.statusCode]).toEqual([503, 503]);
    expect(JSON.parse(String(bug.body))).not.toHaveProperty("stack");
    const [warn, error] = lines();
    expect(warn).toMatchObject({
      level: "WARN",
      status: 503,
      code: "unavailable",
      errorClass: "store",
      operation: "store.getUser",
      error: { name: "StoreUnavailable", message: "store unavailable during store.getUser" },
    });
    expect(warn.error.stack).toContain("StoreUnavailable");
    expect(error).toMatchObject({
      level: "ERROR",
      status: 503,
      errorClass: "unexpected",
      error: { name: "TypeError" },
    });
    expect(error.error.stack).toMatch(/at .*cloud-logger\.test\.ts/);
  });

  it("follows POWERTOOLS_LOG_LEVEL: at WARN, answers are not logged but faults are", async () => {
    process.env.POWERTOOLS_LOG_LEVEL = "WARN";
    const handler = cloudHandler();
    const failing = cloudHandler({
      "POST /v1/challenges": route({
        run: async () => {
          throw new StoreUnavailable("store.getUser");
        },
      }),
    });
    capture();
    await call(handler, { userId: "nobody", channel: "email" }, "5");
    await call(failing, { userId: "x", channel: "email" }, "6");
    vi.restoreAllMocks();
    expect(lines().map((l) => [l.level, l.status])).toEqual([["WARN", 503]]);
  });

  it("answers a request still running at the function's timeout with 503 problem+json and an ERROR line, before Lambda cuts it off", async () => {
    let finished = false;
    const slow = cloudHandler({
      "POST /v1/challenges": route({
        run: async () => {
          await new Promise((resolve) => setTimeout(resolve, 400));
          finished = true;
          return json(201, {});
        },
      }),
    });
    capture();
    const answer = await call(slow, { userId: "x", channel: "email" }, "7", 50);
    vi.restoreAllMocks();
    expect(finished).toBe(false);
    expect(answer.statusCode).toBe(503);
    expect(answer.headers?.["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(String(answer.body))).toMatchObject({ code: "unavailable", status: 503 });
    expect(lines()).toMatchObject([
      { level: "ERROR", status: 503, errorClass: "unexpected", error: { name: "DeadlineExceeded" } },
    ]);
    // With time to spare the same route answers normally.
    expect((await call(slow, { userId: "x", channel: "email" }, "8", 5_000)).statusCode).toBe(201);
  });

  it("a logger or request setup that throws never turns into a bare Lambda error", async () => {
    const throwing = (): never => {
      throw new Error("logger broke");
    };
    const brokenLogger = createHandler("send", sendRoutes, async () => ({
      ...deps,
      adminAuth: { kind: "iam" },
      log: throwing,
    }));
    const brokenSetup = createHandler("send", sendRoutes, async () => ({
      ...deps,
      adminAuth: { kind: "iam" },
      beginRequest: throwing,
    }));
    await deps.enrollActive({ appId, userId: "lola", type: "email", email: "lola@example.com" });
    const fallback = vi.spyOn(console, "error").mockImplementation(() => {});
    const logged = await call(brokenLogger, { userId: "lola", channel: "email" }, "9");
    const setUp = await call(brokenSetup, { userId: "lola", channel: "email" }, "10");
    const printed = fallback.mock.calls.map(([line]) => JSON.parse(String(line)));
    vi.restoreAllMocks();
    // The answer stands; the line goes to stderr as plain JSON instead.
    expect(logged.statusCode).toBe(201);
    expect(printed[0]).toMatchObject({ msg: "request", status: 201, requestId: "apigw-9" });
    expect(setUp.statusCode).toBe(503);
    expect(setUp.headers?.["content-type"]).toBe("application/problem+json");
  });
});
