import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailable } from "#core/errors";
import type { IdempotencyRecords } from "#core/ports";
import type { HandlerDeps } from "#http/deps";
import { createHandler } from "#http/handler";
import { buildEvent } from "#lib/local-server";
import { sendRoutes } from "../../functions/send.ts";
import { stopEmulator, type TestDeps, testDeps } from "../support/deps.ts";
import { enrollEmail, startHarness } from "../support/harness.ts";

let deps: TestDeps;
let handlerDeps: HandlerDeps;
let apiKey = "";
let appId = "";
const handler = createHandler("send", sendRoutes, async () => handlerDeps);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

async function challenge(body: unknown, key?: string, options: { raw?: string; bearer?: string } = {}) {
  const event = buildEvent({
    method: "POST",
    path: "/v1/challenges",
    headers: {
      authorization: `Bearer ${options.bearer ?? apiKey}`,
      "content-type": "application/json",
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    body: options.raw ?? JSON.stringify(body),
  });
  const result = await handler(event, {} as Context);
  return {
    status: result.statusCode ?? 0,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: JSON.parse(result.body ?? "{}"),
  } satisfies Answer;
}

const sentTo = (address: string) => deps.outbox.filter((m) => m.to === address).length;

let users = 0;
async function activeUser(): Promise<{ userId: string; email: string }> {
  users += 1;
  const userId = `idem-user-${users}`;
  const email = `${userId}@example.com`;
  await deps.enrollActive({ appId, userId, type: "email", email });
  return { userId, email };
}

beforeAll(async () => {
  deps = await testDeps();
  handlerDeps = { ...deps, adminAuth: { kind: "token", tokenSha256: "" } };
  ({ appId, apiKey } = await deps.createApp("Idempotent Co"));
});
afterAll(async () => {
  await stopEmulator();
});

describe("Idempotency-Key on POST /v1/challenges", () => {
  it("answers a repeat with the first response: same challengeId, no second message, nothing counted twice", async () => {
    const { userId, email } = await activeUser();
    const before = sentTo(email);
    const sentEvents = () =>
      deps.audit.events.filter((e) => e.type === "challenge.sent" && e.userId === userId);
    const eventsBefore = sentEvents().length;
    const first = await challenge({ userId, channel: "email" }, "retry-after-timeout-1");
    expect(first.status).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();

    // The same body spelled differently (member order, spacing) is the same request.
    const again = await challenge(undefined, "retry-after-timeout-1", {
      raw: `{ "channel": "email",   "userId": "${userId}" }`,
    });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(sentTo(email)).toBe(before + 1);
    expect(sentEvents()).toHaveLength(eventsBefore + 1);

    // The send limit (5 per window) counted the enrollment's code and this one: three more new
    // requests go out and the fourth is refused. Counting the replay would have left two.
    for (let i = 0; i < 3; i++) expect((await challenge({ userId, channel: "email" })).status).toBe(201);
    expect((await challenge({ userId, channel: "email" })).body.code).toBe("rate_limited");
  });

  it("refuses the same key with another body: 422 idempotency_key_reused, nothing sent", async () => {
    const { userId, email } = await activeUser();
    const other = await activeUser();
    expect((await challenge({ userId, channel: "email" }, "key-two")).status).toBe(201);
    const before = sentTo(other.email);
    const reused = await challenge({ userId: other.userId, channel: "email" }, "key-two");
    expect(reused.status).toBe(422);
    expect(reused.headers["content-type"]).toBe("application/problem+json");
    expect(reused.body).toMatchObject({
      code: "idempotency_key_reused",
      title: "Idempotency key reused with another body",
    });
    expect(sentTo(other.email)).toBe(before);
    expect(sentTo(email)).toBeGreaterThan(0);
  });

  it("with 20 parallel requests under one key sends once: the rest replay it or answer 409 request_in_progress", async () => {
    const { userId, email } = await activeUser();
    const before = sentTo(email);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => challenge({ userId, channel: "email" }, "parallel-key")),
    );
    expect(sentTo(email)).toBe(before + 1);
    const created = answers.filter((a) => a.status === 201);
    const busy = answers.filter((a) => a.status === 409);
    expect(created.length + busy.length).toBe(20);
    expect(new Set(created.map((a) => a.body.challengeId)).size).toBe(1);
    for (const a of busy) {
      expect(a.body.code).toBe("request_in_progress");
      expect(a.headers["retry-after"]).toBe("1");
    }
    // Once the first finished, a retry gets its answer.
    const retried = await challenge({ userId, channel: "email" }, "parallel-key");
    expect(retried.body.challengeId).toBe(created[0]?.body.challengeId);
  });

  it("replays for 10 minutes, then the key is free and the same request runs again", async () => {
    const { userId, email } = await activeUser();
    const first = await challenge({ userId, channel: "email" }, "ten-minutes");
    deps.clock.advanceMs(599_000);
    const late = await challenge({ userId, channel: "email" }, "ten-minutes");
    expect(late.body.challengeId).toBe(first.body.challengeId);
    const before = sentTo(email);
    deps.clock.advanceMs(2_000);
    const after = await challenge({ userId, channel: "email" }, "ten-minutes");
    expect(after.status).toBe(201);
    expect(after.headers["idempotent-replayed"]).toBeUndefined();
    expect(after.body.challengeId).not.toBe(first.body.challengeId);
    expect(sentTo(email)).toBe(before + 1);
  });

  it("keeps a 4xx answer, and frees the key after a 429 or a 5xx so the retry they invite really runs", async () => {
    // No factor yet: 404, kept and replayed even once the factor exists.
    users += 1;
    const userId = `idem-user-${users}`;
    const email = `${userId}@example.com`;
    const missing = await challenge({ userId, channel: "email" }, "kept-404");
    expect(missing.status).toBe(404);
    await deps.enrollActive({ appId, userId, type: "email", email });
    const replayed = await challenge({ userId, channel: "email" }, "kept-404");
    expect(replayed.status).toBe(404);
    expect(replayed.headers["idempotent-replayed"]).toBe("true");

    // Over the send limit: 429 with Retry-After. After waiting, the same key runs again.
    for (let i = 0; i < 4; i++) expect((await challenge({ userId, channel: "email" })).status).toBe(201);
    const limited = await challenge({ userId, channel: "email" }, "retry-429");
    expect(limited.status).toBe(429);
    deps.clock.advanceMs(Number(limited.headers["retry-after"]) * 1000 + 1000);
    const afterWait = await challenge({ userId, channel: "email" }, "retry-429");
    expect(afterWait.status).toBe(201);
    expect(afterWait.headers["idempotent-replayed"]).toBeUndefined();

    // The provider refuses: 502, nothing sent or counted; the retry with the same key sends.
    deps.emailProvider.failNext(); // email is this user's only channel: no fallback
    const failed = await challenge({ userId, channel: "email" }, "retry-502");
    expect(failed.status).toBe(502);
    const before = sentTo(email);
    const retried = await challenge({ userId, channel: "email" }, "retry-502");
    expect(retried.status).toBe(201);
    expect(sentTo(email)).toBe(before + 1);
  });

  it("refuses a malformed key with 400 and keys are per app", async () => {
    const { userId } = await activeUser();
    for (const key of ["", "x".repeat(129), "has space", "naïve"]) {
      const bad = await challenge({ userId, channel: "email" }, key);
      expect(bad.status, JSON.stringify(key)).toBe(400);
      expect(bad.body.errors).toEqual([
        { path: "(headers).idempotency-key", message: "must be 1 to 128 visible ASCII characters" },
      ]);
    }
    expect((await challenge({ userId, channel: "email" }, "x".repeat(128))).status).toBe(201);

    const other = await deps.createApp("Other Co");
    await deps.enrollActive({ appId: other.appId, userId, type: "email", email: `${userId}@other.example` });
    const mine = await challenge({ userId, channel: "email" }, "shared-key");
    const theirs = await challenge({ userId, channel: "email" }, "shared-key", { bearer: other.apiKey });
    expect(theirs.status).toBe(201);
    expect(theirs.body.challengeId).not.toBe(mine.body.challengeId);
  });

  it("stores a hash of the body and the first answer, never the key, the code or the body (SECURITY.md rule 40)", async () => {
    const { userId, email } = await activeUser();
    const key = "secret-looking-key-4f9a2c";
    const first = await challenge({ userId, channel: "email", clientIp: "203.0.113.9" }, key);
    expect(first.status).toBe(201);
    const code = deps.latestCode(email);
    const items = await deps.tableText();
    expect(items).not.toContain(key);
    expect(items).not.toContain(code);
    const records = JSON.parse(items).filter((i: { pk: string }) => i.pk.startsWith(`IDEM#${appId}#`));
    const mine = records.find((i: { response?: { body: string } }) =>
      i.response?.body.includes(String(first.body.challengeId)),
    );
    expect(Object.keys(mine).sort()).toEqual(
      ["bodyHash", "expiresAt", "inProgressUntil", "pk", "response", "sk", "state", "token", "ttl"].sort(),
    );
    expect(JSON.stringify(mine)).not.toContain("203.0.113.9");
    expect(mine.ttl).toBe(Math.ceil((deps.clock.now() + 600_000) / 1000));
  });

  it("answers 503 and sends nothing when the record cannot be claimed", async () => {
    const { userId, email } = await activeUser();
    const real = handlerDeps.idempotency as IdempotencyRecords;
    handlerDeps = {
      ...handlerDeps,
      idempotency: {
        ...real,
        claim: async () => {
          throw new StoreUnavailable("idempotency.claim");
        },
        complete: real.complete.bind(real),
        release: real.release.bind(real),
      },
    };
    try {
      const before = sentTo(email);
      const answer = await challenge({ userId, channel: "email" }, "store-down");
      expect(answer.status).toBe(503);
      expect(sentTo(email)).toBe(before);
    } finally {
      handlerDeps = { ...handlerDeps, idempotency: real };
    }
  });
});

describe("Idempotency-Key on the local stack (npm start's clock)", () => {
  it("replays over HTTP until POST /dev/clock moves past 10 minutes", async () => {
    const h = await startHarness();
    try {
      await enrollEmail(h, "clocky", "clocky@example.com");
      const send = () =>
        h.http("POST", "/v1/challenges", {
          body: { userId: "clocky", channel: "email" },
          headers: { "idempotency-key": "local-clock-key" },
        });
      const first = await send();
      expect(first.status).toBe(201);
      await h.http("POST", "/dev/clock", { auth: null, body: { advanceSeconds: 590 } });
      const replayed = await send();
      expect(replayed.headers["idempotent-replayed"]).toBe("true");
      expect(replayed.body.challengeId).toBe(first.body.challengeId);
      await h.http("POST", "/dev/clock", { auth: null, body: { advanceSeconds: 20 } });
      const fresh = await send();
      expect(fresh.status).toBe(201);
      expect(fresh.headers["idempotent-replayed"]).toBeUndefined();
      expect(fresh.body.challengeId).not.toBe(first.body.challengeId);
    } finally {
      await h.stop();
    }
  });
});
