import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { generateSync } from "otplib";
import { DynamoAudit } from "#adapters/dynamodb-audit";
import { DynamoSmsCounters } from "#adapters/dynamodb-sms-counters";
import { DynamoStore } from "#adapters/dynamodb-store";
import { buildEvent } from "#lib/local-server";
import { LOCAL_AWS } from "#lib/local-services";
import { type LocalStack, startLocalStack, TABLE_NAME } from "#lib/local-stack";
import { type FunctionName, matchRoute } from "#lib/routes";
import { DynamoRecorder, type RecordedCall, sequentialGroups } from "./dynamo-recorder.ts";

/** One timed handler call: its latency and exactly the DynamoDB traffic it caused. */
export interface Sample {
  ms: number;
  status: number;
  calls: RecordedCall[];
  /** HTTP requests grouped by overlap: each group is one round trip on the critical path. */
  roundTrips: number;
  /** DynamoDB requests still starting after the handler had answered (fire-and-forget work). */
  late: number;
  responseBytes: number;
}

export interface OperationResult {
  name: string;
  fn: FunctionName;
  route: string;
  expectStatus: number;
  samples: Sample[];
  note?: string;
}

export interface OperationsResult {
  iterations: number;
  warmups: number;
  operations: OperationResult[];
  floor: Sample[];
  /** Bytes of the one JSON request line each function logs, by function. */
  logLineBytes: Map<FunctionName, number[]>;
  /** The last successful request line logged per route (`POST /v1/verifications`), as `console.log` writes it in the cloud. */
  sampleLogLines: Record<string, string>;
  cacheSettings: string;
  dynamoEndpoint: string;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  bytes: number;
}

const PERIOD_S = 30;
/** The bench app's limits: high enough that loops never hit them, so every sample takes the normal path. */
const BENCH_LIMITS = {
  maxCodeRequests: 20,
  requestTimeoutSeconds: 60,
  maxVerifyAttempts: 10,
  lockoutSeconds: 1,
};
const SENDS_PER_WINDOW = 10;
/**
 * Logins rotate over this many users, so a user's partition holds what a busy day leaves
 * (a few used challenges before TTL removes them), not hundreds: the send's Query reads them all.
 */
export const POOL = 50;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function measureOperations(settings: {
  iterations: number;
  warmups: number;
  progress: (line: string) => void;
}): Promise<OperationsResult> {
  const dir = await mkdtemp(join(tmpdir(), "otp-bench-stack-"));
  const logLineBytes = new Map<FunctionName, number[]>();
  const sampleLogLines: Record<string, string> = {};
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      dir,
      port: 0,
      persist: false,
      print: () => undefined,
      log: (entry) => {
        const fn = entry.fn as FunctionName;
        const line = JSON.stringify(entry);
        const list = logLineBytes.get(fn) ?? [];
        list.push(Buffer.byteLength(line));
        logLineBytes.set(fn, list);
        if (typeof entry.status === "number" && entry.status < 300)
          sampleLogLines[String(entry.route)] = line;
      },
    });
    const live = stack;

    // The cloud's store: same client settings and caches as functions/http/cloud-deps.ts
    // (the local stack caches nothing, so a change is visible at once), plus the recorder.
    const recorder = new DynamoRecorder();
    const client = new DynamoDBClient({
      ...LOCAL_AWS,
      endpoint: stack.dynamoEndpoint,
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
    });
    recorder.instrument(client);
    const documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    stack.deps.store = new DynamoStore(documents, {
      tableName: TABLE_NAME,
      appCacheMs: 10_000,
      apiKeyCacheMs: 60_000,
    });
    stack.deps.audit = new DynamoAudit(documents, {
      tableName: TABLE_NAME,
      onLost: (_event, error) => {
        throw error;
      },
    });
    // SMS protection's counters through the same recorded client: their round trips and WRU count.
    stack.deps.smsCounters = new DynamoSmsCounters(documents, { tableName: TABLE_NAME });

    const call = async (
      method: string,
      path: string,
      options: { body?: unknown; auth?: "client" | "admin"; headers?: Record<string, string> } = {},
    ): Promise<Reply> => {
      const token = options.auth === "admin" ? live.credentials.adminToken : live.credentials.apiKey;
      const event = buildEvent({
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          ...(options.headers ?? {}),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const fn = fnOf(method, path);
      const result = (await live.handlers[fn](event, {
        awsRequestId: event.requestContext.requestId,
      } as Context)) as APIGatewayProxyStructuredResultV2;
      const text = result.body ?? "";
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = {};
      }
      const headerBytes = Object.entries(result.headers ?? {}).reduce(
        (sum, [k, v]) => sum + k.length + String(v).length + 4,
        0,
      );
      return { status: result.statusCode ?? 200, body, bytes: Buffer.byteLength(text) + headerBytes };
    };

    /** Times one handler call and takes the DynamoDB traffic it caused. */
    const timed = async (run: () => Promise<Reply>): Promise<{ reply: Reply; sample: Sample }> => {
      await tick();
      recorder.reset();
      const t0 = performance.now();
      const reply = await run();
      const t1 = performance.now();
      await tick();
      const { calls, spans } = recorder.take();
      const during = spans.filter((s) => s.start <= t1);
      return {
        reply,
        sample: {
          ms: t1 - t0,
          status: reply.status,
          calls: calls.filter((c) => c.start <= t1),
          roundTrips: sequentialGroups(during).length,
          late: spans.length - during.length,
          responseBytes: reply.bytes,
        },
      };
    };

    const latestCode = async (to: string): Promise<string> => {
      const [message] = await live.outboxMessages(to);
      const code = message ? /\b(\d{6,10})\b/.exec(message.body)?.[1] : undefined;
      if (!code) throw new Error(`no code was sent to ${to}`);
      return code;
    };
    const expect = (reply: Reply, status: number, what: string): Reply => {
      if (reply.status !== status)
        throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply;
    };

    // ---- the bench app: default config, local providers, limits the loops never reach ------------
    const current = await call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    const config = structuredClone(current.body) as Record<string, Record<string, unknown>>;
    config.limits = { ...config.limits, ...BENCH_LIMITS };
    config.email = { ...config.email, provider: "local" };
    config.sms = { ...config.sms, provider: "local" };
    // SMS protection on (enforce, every counter written) with caps the loops never reach: its cost is measured.
    config.smsProtection = {
      ...config.smsProtection,
      mode: "enforce",
      perDestination: { perHour: 1000, perDay: 1000 },
      perClientIp: { perHour: 10_000, perDay: 10_000 },
      perCountry: { perHour: 1_000_000, overrides: {} },
      appPerDay: 10_000_000,
      conversion: { minSends: 10_000, minRate: 0, windowSeconds: 86_400, pauseSeconds: 60 },
    };
    const saveConfig = async () => {
      const stored = await call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
      expect(
        await call("PUT", "/v1/admin/apps/default/config", {
          auth: "admin",
          body: { ...config, version: stored.body.version },
          headers: { "if-match": `"${String(stored.body.version ?? "")}"` },
        }),
        200,
        "config update",
      );
    };
    await saveConfig();

    const enrollEmail = async (userId: string) => {
      const email = `${userId}@example.com`;
      const enrolled = expect(
        await call("POST", `/v1/users/${userId}/factors`, { body: { type: "email", email } }),
        201,
        "enroll email",
      );
      const activated = expect(
        await call("POST", `/v1/users/${userId}/factors/${String(enrolled.body.factorId)}/activate`, {
          body: { code: await latestCode(email) },
        }),
        200,
        "activate email",
      );
      return { email, recoveryCodes: (activated.body.recoveryCodes as string[] | undefined) ?? [] };
    };
    const enrollSms = async (userId: string, phone: string) => {
      const enrolled = expect(
        await call("POST", `/v1/users/${userId}/factors`, { body: { type: "sms", phone } }),
        201,
        "enroll sms",
      );
      expect(
        await call("POST", `/v1/users/${userId}/factors/${String(enrolled.body.factorId)}/activate`, {
          body: { code: await latestCode(phone) },
        }),
        200,
        "activate sms",
      );
    };
    const totpNow = (secret: string) =>
      generateSync({
        secret,
        algorithm: "sha1",
        digits: 6,
        period: PERIOD_S,
        epoch: Math.floor(live.clock.now() / 1000),
      });
    const enrollTotp = async (userId: string) => {
      const enrolled = expect(
        await call("POST", `/v1/users/${userId}/factors`, {
          body: { type: "totp", label: `${userId}@example.com` },
        }),
        201,
        "enroll totp",
      );
      const secret = String(enrolled.body.secret);
      expect(
        await call("POST", `/v1/users/${userId}/factors/${String(enrolled.body.factorId)}/activate`, {
          body: { code: totpNow(secret) },
        }),
        200,
        "activate totp",
      );
      return secret;
    };

    const total = settings.warmups + settings.iterations;
    const operations: OperationResult[] = [];
    const op = (name: string, fn: FunctionName, route: string, expectStatus: number, note?: string) => {
      const result: OperationResult = {
        name,
        fn,
        route,
        expectStatus,
        samples: [],
        ...(note ? { note } : {}),
      };
      operations.push(result);
      return (i: number, sample: Sample) => {
        if (i >= settings.warmups) result.samples.push(sample);
      };
    };
    /** A send window holds 20 codes; move the clock past it now and then (expiry stays far off). */
    const windowTick = (i: number) => {
      if (i % SENDS_PER_WINDOW === SENDS_PER_WINDOW - 1)
        live.clock.advance(BENCH_LIMITS.requestTimeoutSeconds + 1);
    };

    // ---- send email code + verify the right code: one login each iteration ------------------------
    settings.progress("operations: send + verify (email)");
    {
      const users = Array.from({ length: Math.min(POOL, total) }, (_, n) => `bench-email-${n}`);
      for (const userId of users) await enrollEmail(userId);
      const send = op(
        "send email code",
        "send",
        "POST /v1/challenges",
        201,
        `previous code used, as in a normal login; ${users.length} users in turn`,
      );
      const verify = op("verify right code", "verify", "POST /v1/verifications", 200);
      for (let i = 0; i < total; i++) {
        const userId = users[i % users.length] as string;
        const sent = await timed(() =>
          call("POST", "/v1/challenges", { body: { userId, channel: "email" } }),
        );
        expect(sent.reply, 201, "send email");
        send(i, sent.sample);
        const code = await latestCode(`${userId}@example.com`);
        const verified = await timed(() =>
          call("POST", "/v1/verifications", {
            body: { userId, challengeId: String(sent.reply.body.challengeId), code },
          }),
        );
        expect(verified.reply, 200, "verify right code");
        verify(i, verified.sample);
        windowTick(i);
      }
    }

    // ---- send SMS code (local outbox), then verify it: with SMS protection, and without -------------
    const smsLoop = async (mode: "enforce" | "off", prefix: string) => {
      settings.progress(`operations: send + verify (sms, smsProtection ${mode})`);
      config.smsProtection = { ...config.smsProtection, mode };
      await saveConfig();
      const users = Array.from({ length: Math.min(POOL, total) }, (_, n) => ({
        userId: `${prefix}-${n}`,
        phone: `+1415555${String((prefix === "bench-sms" ? 100 : 300) + n).padStart(4, "0")}`,
      }));
      for (const { userId, phone } of users) await enrollSms(userId, phone);
      const suffix = mode === "off" ? ", smsProtection off" : "";
      const send = op(
        `send SMS code${suffix}`,
        "send",
        "POST /v1/challenges",
        201,
        mode === "off"
          ? "the same without SMS protection, for comparison"
          : `local outbox SMS; SMS protection enforcing, clientIp sent: 3 conditional counters and 2 reads in parallel, the conversion counted beside the registration; ${users.length} users in turn`,
      );
      const verify = op(
        `verify SMS code${suffix}`,
        "verify",
        "POST /v1/verifications",
        200,
        mode === "off" ? undefined : "the conversion count is written beside the approval",
      );
      for (let i = 0; i < total; i++) {
        const { userId, phone } = users[i % users.length] as { userId: string; phone: string };
        const sent = await timed(() =>
          call("POST", "/v1/challenges", { body: { userId, channel: "sms", clientIp: "203.0.113.7" } }),
        );
        expect(sent.reply, 201, "send sms");
        send(i, sent.sample);
        const code = await latestCode(phone);
        const verified = await timed(() =>
          call("POST", "/v1/verifications", {
            body: { userId, challengeId: String(sent.reply.body.challengeId), code },
          }),
        );
        expect(verified.reply, 200, "verify sms");
        verify(i, verified.sample);
        windowTick(i);
      }
    };
    await smsLoop("enforce", "bench-sms");
    await smsLoop("off", "bench-sms-off");
    config.smsProtection = { ...config.smsProtection, mode: "enforce" };
    await saveConfig();

    // ---- resend: a second code while the first is unused (the first is superseded) ----------------
    settings.progress("operations: resend (email)");
    {
      await enrollEmail("bench-resend");
      const send = op(
        "send email code, previous unused",
        "send",
        "POST /v1/challenges",
        201,
        "a resend: the unused previous code is superseded",
      );
      expect(
        await call("POST", "/v1/challenges", { body: { userId: "bench-resend", channel: "email" } }),
        201,
        "first send",
      );
      for (let i = 0; i < total; i++) {
        const sent = await timed(() =>
          call("POST", "/v1/challenges", { body: { userId: "bench-resend", channel: "email" } }),
        );
        expect(sent.reply, 201, "resend");
        send(i, sent.sample);
        windowTick(i);
      }
    }

    // ---- wrong codes: at most maxVerifyAttempts - 1 in a row, then a right one resets the count ----
    settings.progress("operations: verify wrong code");
    {
      const { email } = await enrollEmail("bench-wrong");
      const wrong = op("verify wrong code", "verify", "POST /v1/verifications", 422);
      const fresh = async () => {
        const sent = expect(
          await call("POST", "/v1/challenges", { body: { userId: "bench-wrong", channel: "email" } }),
          201,
          "send for wrong codes",
        );
        return { challengeId: String(sent.body.challengeId), code: await latestCode(email) };
      };
      let challenge = await fresh();
      let sends = 1;
      for (let i = 0; i < total; i++) {
        const wrongCode = String((Number(challenge.code) + 1) % 10 ** challenge.code.length).padStart(
          challenge.code.length,
          "0",
        );
        const result = await timed(() =>
          call("POST", "/v1/verifications", {
            body: { userId: "bench-wrong", challengeId: challenge.challengeId, code: wrongCode },
          }),
        );
        wrong(i, result.sample);
        if (result.reply.status === 423) live.clock.advance(BENCH_LIMITS.lockoutSeconds + 1);
        if (i % (BENCH_LIMITS.maxVerifyAttempts - 1) === BENCH_LIMITS.maxVerifyAttempts - 2) {
          await call("POST", "/v1/verifications", { body: { userId: "bench-wrong", ...challenge } });
          if (sends++ % SENDS_PER_WINDOW === 0) live.clock.advance(BENCH_LIMITS.requestTimeoutSeconds + 1);
          challenge = await fresh();
        }
      }
    }

    // ---- TOTP: a fresh time step each iteration -------------------------------------------------------
    settings.progress("operations: TOTP verify");
    {
      const secret = await enrollTotp("bench-totp");
      const totp = op(
        "TOTP verify",
        "verify",
        "POST /v1/verifications",
        200,
        "stack clock advanced 30 s between codes",
      );
      for (let i = 0; i < total; i++) {
        live.clock.advance(PERIOD_S);
        const code = totpNow(secret);
        const result = await timed(() =>
          call("POST", "/v1/verifications", { body: { userId: "bench-totp", code } }),
        );
        expect(result.reply, 200, "totp verify");
        totp(i, result.sample);
      }
    }

    // ---- recovery codes: one per iteration, a new set (untimed) when used up ---------------------------
    settings.progress("operations: recovery code");
    let sessionToken = "";
    {
      let { recoveryCodes } = await enrollEmail("bench-recovery");
      const recovery = op("recovery code", "verify", "POST /v1/verifications", 200);
      for (let i = 0; i < total; i++) {
        if (recoveryCodes.length === 0) {
          const renewed = expect(
            await call("POST", "/v1/users/bench-recovery/recovery-codes"),
            201,
            "new recovery codes",
          );
          recoveryCodes = renewed.body.recoveryCodes as string[];
        }
        const code = recoveryCodes.shift() ?? "";
        const result = await timed(() =>
          call("POST", "/v1/verifications", { body: { userId: "bench-recovery", code } }),
        );
        expect(result.reply, 200, "recovery code");
        recovery(i, result.sample);
        sessionToken = String(result.reply.body.sessionToken);
      }
    }

    // ---- session validate -----------------------------------------------------------------------------
    settings.progress("operations: session validate");
    {
      const validate = op("session validate", "verify", "POST /v1/sessions/validate", 200);
      for (let i = 0; i < total; i++) {
        const result = await timed(() => call("POST", "/v1/sessions/validate", { body: { sessionToken } }));
        expect(result.reply, 200, "session validate");
        if (result.reply.body.valid !== true) throw new Error("the bench session is not valid");
        validate(i, result.sample);
      }
    }

    // ---- enrollment: a new user's email factor, then its activation --------------------------------
    settings.progress("operations: enroll + activate");
    {
      const enroll = op(
        "enroll email factor",
        "enroll",
        "POST /v1/users/{userId}/factors",
        201,
        "a new user each time",
      );
      const activate = op(
        "activate email factor",
        "enroll",
        "POST /v1/users/{userId}/factors/{factorId}/activate",
        200,
      );
      for (let i = 0; i < total; i++) {
        const userId = `bench-enroll-${i}`;
        const email = `${userId}@example.com`;
        const enrolled = await timed(() =>
          call("POST", `/v1/users/${userId}/factors`, { body: { type: "email", email } }),
        );
        expect(enrolled.reply, 201, "enroll");
        enroll(i, enrolled.sample);
        const code = await latestCode(email);
        const activated = await timed(() =>
          call("POST", `/v1/users/${userId}/factors/${String(enrolled.reply.body.factorId)}/activate`, {
            body: { code },
          }),
        );
        expect(activated.reply, 200, "activate");
        activate(i, activated.sample);
      }
    }

    // ---- the floor: one UpdateItem through lib-dynamodb on the same dynalite ------------------------
    settings.progress("operations: floor (one UpdateItem)");
    const floor: Sample[] = [];
    {
      const floorRecorder = new DynamoRecorder();
      const floorClient = new DynamoDBClient({
        ...LOCAL_AWS,
        endpoint: stack.dynamoEndpoint,
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
      });
      floorRecorder.instrument(floorClient);
      const floorDocs = DynamoDBDocumentClient.from(floorClient);
      for (let i = 0; i < total; i++) {
        await tick();
        floorRecorder.reset();
        const t0 = performance.now();
        await floorDocs.send(
          new UpdateCommand({
            TableName: TABLE_NAME,
            Key: { pk: "BENCH#floor", sk: "FLOOR" },
            UpdateExpression: "SET n = if_not_exists(n, :zero) + :one",
            ExpressionAttributeValues: { ":zero": 0, ":one": 1 },
          }),
        );
        const ms = performance.now() - t0;
        const { calls, spans } = floorRecorder.take();
        if (i >= settings.warmups) {
          floor.push({
            ms,
            status: 200,
            calls,
            roundTrips: sequentialGroups(spans).length,
            late: 0,
            responseBytes: 0,
          });
        }
      }
      floorClient.destroy();
    }
    client.destroy();
    return {
      iterations: settings.iterations,
      warmups: settings.warmups,
      operations,
      floor,
      logLineBytes,
      sampleLogLines,
      cacheSettings:
        "DynamoStore appCacheMs 10 000, apiKeyCacheMs 60 000 (as functions/http/cloud-deps.ts); secrets cached 5 min",
      dynamoEndpoint: stack.dynamoEndpoint,
    };
  } finally {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function fnOf(method: string, path: string): FunctionName {
  const match = matchRoute(method, path);
  if (match.kind !== "found" || match.route.fn === "local")
    throw new Error(`no function serves ${method} ${path}`);
  return match.route.fn;
}
