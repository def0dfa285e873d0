import { AsyncLocalStorage } from "node:async_hooks";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalDeliverySetup } from "#adapters/delivery-setup/local-delivery-setup";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoIdempotency } from "#adapters/dynamodb-idempotency";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import { sha256Hex } from "#core/codes";
import type { HandlerDeps } from "#http/deps";
import { createHandler, type RouteImpls } from "#http/handler";
import { buildEvent } from "#lib/local-server";
import { LOCAL_AWS } from "#lib/local-services";
import { ITEM_FAMILIES, type ItemFamily, TABLE_ACCESS } from "#lib/otp-service";
import { type FunctionName, matchRoute, routes } from "#lib/routes";
import { adminRoutes } from "../../functions/admin-config.ts";
import { enrollRoutes } from "../../functions/enroll.ts";
import { sendRoutes } from "../../functions/send.ts";
import { verifyRoutes } from "../../functions/verify.ts";
import {
  codeIn,
  FakeClock,
  FakeEmailProvider,
  FakeSmsProvider,
  FakeVerificationProvider,
  MemorySecrets,
  type SentMessage,
  TEST_FROM_ADDRESS,
  TEST_SMS_SENDER,
  testServiceSecret,
} from "../support/deps.ts";
import { type Dynamo, startDynamo } from "../support/dynamodb.ts";

/*
 * The IAM grants of lib/otp-service.ts (`TABLE_ACCESS`, by `dynamodb:LeadingKeys`) against what the
 * functions really send: every route of every function runs on dynalite through a DynamoDB client
 * that records, per request, the function it served, read or write, and the partition key. dynalite
 * enforces no IAM, so this is what proves the grants cover reality (and grant nothing unused).
 */

type Kind = "read" | "write";
interface Access {
  fn: FunctionName;
  kind: Kind;
  command: string;
  pk: string;
}

const KIND: Record<string, Kind> = {
  GetItemCommand: "read",
  QueryCommand: "read",
  PutItemCommand: "write",
  UpdateItemCommand: "write",
  DeleteItemCommand: "write",
};

const ADMIN_TOKEN = "table-access-admin-token";
const serving = new AsyncLocalStorage<FunctionName>();
const accesses: Access[] = [];
/** Route keys the drive reached. */
const driven = new Set<string>();
const outbox: SentMessage[] = [];
let db: Dynamo;
let client: DynamoDBClient;
const clock = new FakeClock(Date.now());
let apiKey = "";
let appId = "";

const text = (value: unknown): string | undefined =>
  typeof value === "string" ? value : ((value as { S?: string } | undefined)?.S ?? undefined);

/** The partition key a request addresses: its Key or Item, or the value its key condition gives `pk`. */
function pkOf(input: Record<string, unknown>): string | undefined {
  const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  if (key) return text(key.pk);
  const condition = String(input.KeyConditionExpression ?? "");
  const placeholder = /\bpk\s*=\s*(:\w+)/.exec(condition)?.[1];
  const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
  return placeholder ? text(values?.[placeholder]) : undefined;
}

function familyOf(pk: string): ItemFamily[] {
  return (Object.entries(ITEM_FAMILIES) as [ItemFamily, string][])
    .filter(([, pattern]) => (pattern.endsWith("*") ? pk.startsWith(pattern.slice(0, -1)) : pk === pattern))
    .map(([family]) => family);
}

const implsOf: Record<FunctionName, RouteImpls> = {
  send: sendRoutes,
  verify: verifyRoutes,
  enroll: enrollRoutes,
  "admin-config": adminRoutes,
};

async function call(
  method: string,
  path: string,
  options: { body?: unknown; admin?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const match = matchRoute(method, path);
  const fn: FunctionName =
    match.kind === "found" && match.route.fn !== "local" ? match.route.fn : "admin-config";
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.admin ? ADMIN_TOKEN : apiKey}`,
    ...(options.body === undefined ? {} : { "content-type": "application/json" }),
    ...options.headers,
  };
  const event = buildEvent({
    method,
    path,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  driven.add(event.routeKey);
  const result = (await serving.run(fn, () =>
    handlers[fn](event, { awsRequestId: event.requestContext.requestId } as Context),
  )) as APIGatewayProxyStructuredResultV2;
  const body = result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {};
  return { status: result.statusCode ?? 200, body };
}

const latestCode = (to: string): string => {
  const message = outbox.findLast((m) => m.to === to);
  const code = message ? codeIn(message) : undefined;
  if (!code) throw new Error(`no code was sent to ${to}`);
  return code;
};

let handlers: Record<FunctionName, (event: unknown, context: Context) => Promise<unknown>>;

beforeAll(async () => {
  db = await startDynamo("dynalite");
  client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: db.endpoint, maxAttempts: 2 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const fn = serving.getStore();
      const kind = KIND[context.commandName ?? ""];
      const pk = pkOf(args.input as Record<string, unknown>);
      if (fn && kind && pk) accesses.push({ fn, kind, command: String(context.commandName), pk });
      else if (fn) throw new Error(`unrecorded DynamoDB request ${context.commandName} from ${fn}`);
      return next(args);
    },
    { step: "serialize", name: "recordPartitionKeys" },
  );
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = db.tableName;
  const emailProvider = new FakeEmailProvider(clock, outbox);
  const smsProvider = new FakeSmsProvider(clock, outbox);
  const verificationProvider = new FakeVerificationProvider(clock, outbox);
  const deps: HandlerDeps = {
    store: new DynamoStore(documents, { tableName }),
    audit: new DynamoAudit(documents, {
      tableName,
      onLost: (_event, error) => {
        throw error;
      },
    }),
    smsCounters: new DynamoSmsCounters(documents, { tableName }),
    idempotency: new DynamoIdempotency(documents, { tableName }),
    secrets: new MemorySecrets(testServiceSecret(), clock),
    clock,
    email: () => emailProvider,
    sms: (config) => (config.sms.provider === "sinch" ? verificationProvider : smsProvider),
    smsVerification: () => verificationProvider,
    adminAuth: { kind: "token", tokenSha256: sha256Hex(ADMIN_TOKEN) },
    deliverySetup: new LocalDeliverySetup({ sms: ["twilio", "sinch"], email: ["ses"] }),
  };
  handlers = Object.fromEntries(
    (Object.keys(implsOf) as FunctionName[]).map((fn) => [
      fn,
      createHandler(fn, implsOf[fn], async () => deps) as (
        event: unknown,
        context: Context,
      ) => Promise<unknown>,
    ]),
  ) as typeof handlers;
});

afterAll(async () => {
  client?.destroy();
  await db?.stop();
});

describe("the table access each function's routes make, against its IAM grant", () => {
  it("drives every route of every function", async () => {
    const created = await call("POST", "/v1/admin/apps", { admin: true, body: { name: "Access app" } });
    expect(created.status).toBe(201);
    appId = String(created.body.appId);
    apiKey = String(created.body.apiKey);
    const admin = `/v1/admin/apps/${appId}`;
    const ok = (reply: { status: number; body: unknown }, status: number) =>
      expect.soft(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(status);
    // A new app sends nothing until an admin sets a from-address and an SMS sender.
    const unconfigured = await call("GET", `${admin}/config`, { admin: true });
    ok(
      await call("PATCH", `${admin}/config`, {
        admin: true,
        body: { email: { fromAddress: TEST_FROM_ADDRESS }, sms: { defaultSender: TEST_SMS_SENDER } },
        headers: {
          "content-type": "application/merge-patch+json",
          "if-match": `"${unconfigured.body.version}"`,
        },
      }),
      200,
    );

    // enroll: an email and an SMS factor, each sent a code and activated; list; recovery codes
    const email = await call("POST", "/v1/users/ann/factors", {
      body: { type: "email", email: "ann@example.com" },
    });
    ok(email, 201);
    ok(
      await call("POST", `/v1/users/ann/factors/${email.body.factorId}/activate`, {
        body: { code: latestCode("ann@example.com") },
      }),
      200,
    );
    const phone = "+14155550123";
    // Adding a factor to a user with MFA on needs a fresh verification first (step-up).
    const stepUp = await call("POST", "/v1/challenges", { body: { userId: "ann", channel: "email" } });
    ok(stepUp, 201);
    ok(
      await call("POST", "/v1/verifications", {
        body: { userId: "ann", challengeId: stepUp.body.challengeId, code: latestCode("ann@example.com") },
      }),
      200,
    );
    const sms = await call("POST", "/v1/users/ann/factors", { body: { type: "sms", phone } });
    ok(sms, 201);
    ok(
      await call("POST", `/v1/users/ann/factors/${sms.body.factorId}/activate`, {
        body: { code: latestCode(phone) },
      }),
      200,
    );
    ok(await call("GET", "/v1/users/ann/factors"), 200);

    // send, twice with one Idempotency-Key (the second is a replay), then verify the SMS code
    const key = { "idempotency-key": "access-test-1" };
    const sent = await call("POST", "/v1/challenges", {
      body: { userId: "ann", channel: "sms" },
      headers: key,
    });
    ok(sent, 201);
    ok(await call("POST", "/v1/challenges", { body: { userId: "ann", channel: "sms" }, headers: key }), 201);
    const verified = await call("POST", "/v1/verifications", {
      body: { userId: "ann", challengeId: sent.body.challengeId, code: latestCode(phone) },
    });
    ok(verified, 200);
    ok(
      await call("POST", "/v1/sessions/validate", { body: { sessionToken: verified.body.sessionToken } }),
      200,
    );

    // a wrong code, then recovery codes, removing a factor, disabling MFA (each after a fresh step-up)
    const again = await call("POST", "/v1/challenges", { body: { userId: "ann", channel: "email" } });
    ok(
      await call("POST", "/v1/verifications", {
        body: { userId: "ann", challengeId: again.body.challengeId, code: "000000" },
      }),
      422,
    );
    const stepUpAgain = async () => {
      clock.advanceSeconds(3_600); // past the send limit's window
      const challenge = await call("POST", "/v1/challenges", { body: { userId: "ann", channel: "email" } });
      ok(challenge, 201);
      ok(
        await call("POST", "/v1/verifications", {
          body: {
            userId: "ann",
            challengeId: challenge.body.challengeId,
            code: latestCode("ann@example.com"),
          },
        }),
        200,
      );
    };
    await stepUpAgain();
    ok(await call("POST", "/v1/users/ann/recovery-codes"), 201);
    await stepUpAgain();
    ok(await call("DELETE", `/v1/users/ann/factors/${sms.body.factorId}`), 204);
    ok(await call("DELETE", "/v1/users/ann/sessions"), 204);
    await stepUpAgain();
    ok(await call("DELETE", "/v1/users/ann/mfa"), 204);

    // admin-config: every route of the admin API
    ok(await call("GET", "/v1/admin/apps", { admin: true }), 200);
    const newKey = await call("POST", `${admin}/api-keys`, { admin: true });
    ok(newKey, 201);
    ok(await call("DELETE", `${admin}/api-keys/${newKey.body.keyId}`, { admin: true }), 204);
    ok(await call("GET", `${admin}/users/ann`, { admin: true }), 200);
    ok(await call("POST", `${admin}/users/ann/unlock`, { admin: true }), 204);
    ok(await call("POST", `${admin}/sessions/revoke-all`, { admin: true }), 204);
    ok(await call("GET", `${admin}/audit`, { admin: true }), 200);
    const config = await call("GET", `${admin}/config`, { admin: true });
    ok(config, 200);
    const etag = `"${config.body.version}"`;
    const put = await call("PUT", `${admin}/config`, {
      admin: true,
      body: config.body,
      headers: { "if-match": etag },
    });
    ok(put, 200);
    ok(
      await call("PATCH", `${admin}/config`, {
        admin: true,
        body: { code: { length: 8 } },
        headers: { "content-type": "application/merge-patch+json", "if-match": `"${put.body.version}"` },
      }),
      200,
    );
    ok(await call("GET", `${admin}/sms-protection`, { admin: true }), 200);
    ok(await call("POST", `${admin}/sms-protection/resume`, { admin: true, body: { country: "US" } }), 204);
    ok(
      await call("POST", `${admin}/test-message`, {
        admin: true,
        body: { channel: "email", to: "ops@example.com" },
      }),
      200,
    );
    ok(await call("GET", `${admin}/doctor`, { admin: true }), 200);
    ok(await call("GET", "/healthz"), 200);
    ok(await call("GET", "/openapi.json"), 200);
    ok(await call("GET", "/v1/admin/secrets", { admin: true }), 200);
    ok(
      await call("PUT", "/v1/admin/secrets/twilio", {
        admin: true,
        body: { accountSid: `AC${"0".repeat(32)}`, authToken: "a".repeat(32) },
      }),
      204,
    );
  });

  it("every request's partition key is in one family the function is granted for that kind of access", () => {
    expect(accesses.length).toBeGreaterThan(50);
    const outside = accesses
      .map((a) => ({ ...a, families: familyOf(a.pk) }))
      .filter(
        (a) => a.families.length !== 1 || !TABLE_ACCESS[a.fn][a.kind].includes(a.families[0] as ItemFamily),
      )
      .map((a) => `${a.fn} ${a.command} ${a.pk}`);
    expect(outside).toEqual([]);
  });

  it("each function uses every family it is granted, for reads and for writes: nothing granted goes unused", () => {
    for (const fn of Object.keys(TABLE_ACCESS) as FunctionName[]) {
      for (const kind of ["read", "write"] as const) {
        const used = [
          ...new Set(accesses.filter((a) => a.fn === fn && a.kind === kind).flatMap((a) => familyOf(a.pk))),
        ];
        expect(used.sort(), `${fn} ${kind}`).toEqual([...TABLE_ACCESS[fn][kind]].sort());
      }
    }
  });

  it("drove every cloud route (a new route must join the drive above)", () => {
    expect([...driven].sort()).toEqual(
      routes
        .filter((r) => r.fn !== "local")
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    );
  });
});
