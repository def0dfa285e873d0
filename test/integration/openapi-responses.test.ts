import { generateSync } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallOptions,
  enrollEmail,
  type Harness,
  putConfig,
  type Reply,
  startHarness,
} from "../support/harness.ts";
import { type ContractChecker, contractChecker, type OpenApiDoc } from "../support/openapi-contract.ts";
import { SoftAuthenticator } from "../support/soft-authenticator.ts";
import { ORIGIN, RP_ID } from "../support/webauthn.ts";

let h: Harness;
let doc: OpenApiDoc;
let contract: ContractChecker;

beforeAll(async () => {
  h = await startHarness();
  doc = (await h.http("GET", "/openapi.json", { auth: null })).body as unknown as OpenApiDoc;
  contract = contractChecker(doc);
});
afterAll(async () => {
  await h?.stop();
});

/** Sends the request over HTTP to the local stack and checks the answer against the document's operation. */
async function send(
  method: string,
  template: string,
  params: Record<string, string>,
  options: CallOptions & { query?: string } = {},
): Promise<Reply> {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
  const reply = await h.http(method, `${path}${options.query ?? ""}`, options);
  expect(contract.problems(method, template, reply)).toEqual([]);
  return reply;
}

const admin = { auth: "admin" } as const;

describe("every answer matches the OpenAPI document", () => {
  it("public routes, with servers naming where the document was fetched", async () => {
    await send("GET", "/healthz", {}, { auth: null });
    await send("GET", "/openapi.json", {}, { auth: null });
    expect(doc.servers).toEqual([{ url: h.stack.url, description: expect.any(String) }]);
  });

  it("email: enroll, activate, list, challenge, verify, validate, recovery codes, remove, sessions, MFA off", async () => {
    const userId = "olivia";
    const email = "olivia@example.com";
    const enrolled = await send(
      "POST",
      "/v1/users/{userId}/factors",
      { userId },
      { body: { type: "email", email } },
    );
    const factorId = String(enrolled.body.factorId);
    const code = await h.latestCode(email);
    const wrong = await send(
      "POST",
      "/v1/users/{userId}/factors/{factorId}/activate",
      { userId, factorId },
      { body: { code: code === "000000" ? "111111" : "000000" } },
    );
    expect(wrong.status).toBe(422);
    expect(wrong.body.attemptsRemaining).toEqual(expect.any(Number));
    const activated = await send(
      "POST",
      "/v1/users/{userId}/factors/{factorId}/activate",
      { userId, factorId },
      { body: { code } },
    );
    expect(activated.body.recoveryCodes).toHaveLength(10);
    await send("GET", "/v1/users/{userId}/factors", { userId });

    const sent = await send("POST", "/v1/challenges", {}, { body: { userId, channel: "email" } });
    expect(sent.status).toBe(201);
    const approved = await send(
      "POST",
      "/v1/verifications",
      {},
      { body: { userId, challengeId: sent.body.challengeId, code: await h.latestCode(email) } },
    );
    expect(approved.status).toBe(200);
    const valid = await send(
      "POST",
      "/v1/sessions/validate",
      {},
      { body: { sessionToken: approved.body.sessionToken } },
    );
    expect(valid.body.valid).toBe(true);
    const invalid = await send(
      "POST",
      "/v1/sessions/validate",
      {},
      { body: { sessionToken: "not-a-token" } },
    );
    expect(invalid.body).toEqual({ valid: false });

    await send("POST", "/v1/users/{userId}/recovery-codes", { userId });
    // A second factor, so removing one leaves MFA on.
    const totp = await send(
      "POST",
      "/v1/users/{userId}/factors",
      { userId },
      { body: { type: "totp", label: email } },
    );
    const secret = String(totp.body.secret);
    await send(
      "POST",
      "/v1/users/{userId}/factors/{factorId}/activate",
      { userId, factorId: String(totp.body.factorId) },
      {
        body: {
          code: generateSync({
            secret,
            algorithm: "sha1",
            digits: 6,
            period: 30,
            epoch: Math.floor(h.stack.clock.now() / 1000),
          }),
        },
      },
    );
    expect((await send("DELETE", "/v1/users/{userId}/factors/{factorId}", { userId, factorId })).status).toBe(
      204,
    );
    expect((await send("DELETE", "/v1/users/{userId}/sessions", { userId })).status).toBe(204);
    expect((await send("DELETE", "/v1/users/{userId}/mfa", { userId })).status).toBe(204);
  });

  it("webauthn: creationOptions at enrollment, requestOptions at the challenge, an approved assertion", async () => {
    await putConfig(h, "default", (config) => {
      config.webauthn = { ...(config.webauthn as object), rpId: RP_ID, origins: [ORIGIN] };
    });
    const userId = "wanda";
    const key = new SoftAuthenticator({ origin: ORIGIN, transports: ["usb"] });
    const enrolled = await send(
      "POST",
      "/v1/users/{userId}/factors",
      { userId },
      { body: { type: "webauthn", label: "Key" } },
    );
    await send(
      "POST",
      "/v1/users/{userId}/factors/{factorId}/activate",
      { userId, factorId: String(enrolled.body.factorId) },
      { body: { credential: key.register(enrolled.body.creationOptions as never) } },
    );
    const listed = await send("GET", "/v1/users/{userId}/factors", { userId });
    expect(listed.body.factors).toEqual([
      expect.objectContaining({ type: "webauthn", label: "Key", transports: ["usb"] }),
    ]);
    const started = await send("POST", "/v1/challenges", {}, { body: { userId, channel: "webauthn" } });
    const approved = await send(
      "POST",
      "/v1/verifications",
      {},
      {
        body: {
          userId,
          challengeId: started.body.challengeId,
          credential: key.assert(started.body.requestOptions as never),
        },
      },
    );
    expect(approved.body.method).toBe("webauthn");
    await send("GET", "/v1/admin/apps/{appId}/users/{userId}", { appId: "default", userId }, admin);
  });

  it("problems: bad request, unauthorized, forbidden, not found, rate limited, locked", async () => {
    const bad = await send("POST", "/v1/challenges", {}, { body: { userId: "x", channel: "pigeon" } });
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: "channel" })]);
    expect((await send("GET", "/v1/users/{userId}/factors", { userId: "x" }, { auth: "nope" })).status).toBe(
      401,
    );
    expect((await send("GET", "/v1/admin/apps", {}, { auth: "client" })).status).toBe(403);
    expect((await send("POST", "/v1/challenges", {}, { body: { userId: "nobody" } })).status).toBe(404);
    expect((await send("GET", "/v1/admin/apps/{appId}/config", { appId: "nope" }, admin)).status).toBe(404);

    const userId = "rita";
    const email = "rita@example.com";
    await send("POST", "/v1/users/{userId}/factors", { userId }, { body: { type: "email", email } });
    let limited: Reply | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const reply = await send(
        "POST",
        "/v1/users/{userId}/factors",
        { userId },
        { body: { type: "email", email } },
      );
      if (reply.status === 429) limited = reply;
    }
    expect(limited?.body).toMatchObject({ code: "rate_limited", retryAfterSeconds: expect.any(Number) });

    await enrollEmail(h, "ida");
    const once = { userId: "ida", channel: "email" };
    const idempotencyKey = { "idempotency-key": "contract-1" };
    const first = await send("POST", "/v1/challenges", {}, { body: once, headers: idempotencyKey });
    const again = await send("POST", "/v1/challenges", {}, { body: once, headers: idempotencyKey });
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body.challengeId).toBe(first.body.challengeId);
    const reused = await send(
      "POST",
      "/v1/challenges",
      {},
      { body: { ...once, purpose: "step_up" }, headers: idempotencyKey },
    );
    expect(reused.body.code).toBe("idempotency_key_reused");

    const lockUser = "lars";
    const enrolled = await send(
      "POST",
      "/v1/users/{userId}/factors",
      { userId: lockUser },
      { body: { type: "email", email: "lars@example.com" } },
    );
    let locked: Reply | undefined;
    for (let i = 0; i < 10 && !locked; i++) {
      const reply = await send(
        "POST",
        "/v1/users/{userId}/factors/{factorId}/activate",
        { userId: lockUser, factorId: String(enrolled.body.factorId) },
        { body: { code: "0000000000" } },
      );
      if (reply.status === 423) locked = reply;
    }
    expect(locked?.body.lockedUntil).toEqual(expect.any(String));
    await send(
      "POST",
      "/v1/admin/apps/{appId}/users/{userId}/unlock",
      { appId: "default", userId: lockUser },
      admin,
    );
  });

  it("admin: apps, keys, config (ETag, If-Match), audit, users, sessions, SMS protection, test message, secrets", async () => {
    const created = await send("POST", "/v1/admin/apps", {}, { ...admin, body: { name: "Contract" } });
    const appId = String(created.body.appId);
    await send("GET", "/v1/admin/apps", {}, admin);
    const key = await send("POST", "/v1/admin/apps/{appId}/api-keys", { appId }, admin);
    await send(
      "DELETE",
      "/v1/admin/apps/{appId}/api-keys/{keyId}",
      { appId, keyId: String(key.body.keyId) },
      admin,
    );

    const config = await send("GET", "/v1/admin/apps/{appId}/config", { appId }, admin);
    const { version: _, ...whole } = config.body;
    const put = await send(
      "PUT",
      "/v1/admin/apps/{appId}/config",
      { appId },
      { ...admin, body: whole, headers: { "if-match": config.headers.etag ?? "" } },
    );
    const patched = await send(
      "PATCH",
      "/v1/admin/apps/{appId}/config",
      { appId },
      {
        ...admin,
        rawBody: JSON.stringify({ code: { length: 8 } }),
        headers: { "if-match": put.headers.etag ?? "", "content-type": "application/merge-patch+json" },
      },
    );
    expect(patched.body.code).toMatchObject({ length: 8 });
    const stale = await send(
      "PUT",
      "/v1/admin/apps/{appId}/config",
      { appId },
      { ...admin, body: whole, headers: { "if-match": put.headers.etag ?? "" } },
    );
    expect(stale.status).toBe(412);
    const invalid = await send(
      "PUT",
      "/v1/admin/apps/{appId}/config",
      { appId },
      { ...admin, body: { ...whole, code: { length: 99 } }, headers: { "if-match": "*" } },
    );
    expect(invalid.body.code).toBe("invalid_config");

    await send("GET", "/v1/admin/apps/{appId}/audit", { appId }, { ...admin, query: "?limit=5" });
    await send("GET", "/v1/admin/apps/{appId}/users/{userId}", { appId, userId: "nobody" }, admin);
    await send("POST", "/v1/admin/apps/{appId}/sessions/revoke-all", { appId }, admin);
    const doctor = await send("GET", "/v1/admin/apps/{appId}/doctor", { appId }, admin);
    expect(doctor.body.checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: "email.from_address" })]),
    );
    await send("GET", "/v1/admin/apps/{appId}/sms-protection", { appId: "default" }, admin);
    await send(
      "POST",
      "/v1/admin/apps/{appId}/sms-protection/resume",
      { appId: "default" },
      { ...admin, body: { country: "US" } },
    );
    const delivered = await send(
      "POST",
      "/v1/admin/apps/{appId}/test-message",
      { appId: "default" },
      { ...admin, body: { channel: "email", to: "ops@example.com" } },
    );
    expect(delivered.body.delivered).toBe(true);
    await send("GET", "/v1/admin/secrets", {}, admin);
    // Last: from here on the stack would send SMS through Twilio.
    await send(
      "PUT",
      "/v1/admin/secrets/{name}",
      { name: "twilio" },
      { ...admin, body: { accountSid: `AC${"0".repeat(32)}`, authToken: "t".repeat(32) } },
    );
  });

  it("exercised the success answer of every documented operation", () => {
    const missing = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => {
        const success = Object.keys(op.responses).find((status) => status.startsWith("2"));
        return contract.seen.has(`${method.toUpperCase()} ${path} ${success}`)
          ? []
          : [`${method.toUpperCase()} ${path} ${success}`];
      }),
    );
    expect(missing).toEqual([]);
  });
});

describe("the check has teeth", () => {
  it("refuses an answer that lacks a documented field, adds an undocumented one, or mistypes one", async () => {
    const real = await h.http("GET", "/v1/users/olivia/factors");
    const variant = (change: (body: Record<string, unknown>) => void): Reply => {
      const body = structuredClone(real.body);
      change(body);
      return { ...real, text: JSON.stringify(body), body };
    };
    const check = (reply: Reply) => contract.problems("GET", "/v1/users/{userId}/factors", reply);
    expect(check(real)).toEqual([]);
    expect(check(variant((b) => delete b.enrollmentRequired)).join()).toContain("enrollmentRequired");
    expect(check(variant((b) => Object.assign(b, { surprise: 1 }))).join()).toContain("surprise");
    expect(check(variant((b) => Object.assign(b, { recoveryCodesRemaining: "ten" }))).join()).toContain(
      "recoveryCodesRemaining",
    );
    expect(check({ ...real, status: 418 }).join()).toContain("not documented");
  });
});
