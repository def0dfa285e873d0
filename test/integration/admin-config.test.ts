import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("admin routes: apps and config", () => {
  it("creates an app whose key works for client routes and only for that app", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Shop" } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      appId: expect.stringMatching(/^app_/),
      apiKey: expect.stringMatching(/^otpk_/),
      keyId: expect.stringMatching(/^key_/),
    });
    const apiKey = String(created.body.apiKey);
    const listed = await h.call("GET", "/v1/users/someone/factors", { auth: apiKey });
    expect(listed.status).toBe(200);
    const config = await h.call("GET", `/v1/admin/apps/${created.body.appId}/config`, { auth: "admin" });
    expect(config.body.totp).toMatchObject({ issuer: "Shop" });
  });

  it("returns the full default config with an ETag", async () => {
    const got = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    expect(got.status).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.body).toMatchObject({
      version: 1,
      mfa: { required: false, primaryMethod: "sms", fallbackMethod: "email", exemptUserIds: [] },
      code: { length: 6, ttlSeconds: 300 },
      limits: { maxCodeRequests: 5, requestTimeoutSeconds: 900, maxVerifyAttempts: 3, lockoutSeconds: 1800 },
      sessions: { durationSeconds: 7_776_000 },
      stepUpSeconds: 300,
      totp: { digits: 6, periodSeconds: 30, algorithm: "SHA1", window: 1 },
      recoveryCodes: { count: 10 },
      sms: { provider: "twilio", secretName: "twilio", defaultCountryCode: "+1", allowedCountries: ["*"] },
      email: { provider: "ses" },
    });
    expect((got.body.templates as Record<string, Record<string, string>>).en?.sms).toContain("{code}");
  });

  it("updates with If-Match, refuses a stale version with 412, and lists every bad path with 400", async () => {
    const got = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    const next = { ...got.body, code: { length: 8, ttlSeconds: 120 } };
    const put = await h.call("PUT", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: next,
      headers: { "if-match": String(got.headers.etag) },
    });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe('"2"');
    expect(put.body).toMatchObject({ version: 2, code: { length: 8, ttlSeconds: 120 } });

    const stale = await h.call("PUT", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: next,
      headers: { "if-match": String(got.headers.etag) },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe("version_conflict");

    const current = put.body as Record<string, Record<string, unknown>>;
    const bad = await h.call("PUT", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: {
        ...current,
        code: { length: 11, ttlSeconds: 601 },
        limits: { ...current.limits, maxVerifyAttempts: 0 },
        stepUpSeconds: 29,
        totp: { ...current.totp, digits: 7 },
        mfa: { ...current.mfa, primaryMethod: "pigeon" },
        sms: { ...current.sms, allowedCountries: ["usa"] },
      },
      headers: { "if-match": '"2"' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers["content-type"]).toBe("application/problem+json");
    expect(bad.body.code).toBe("invalid_config");
    const paths = (bad.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(
      [
        "code.length",
        "code.ttlSeconds",
        "limits.maxVerifyAttempts",
        "mfa.primaryMethod",
        "sms.allowedCountries.0",
        "stepUpSeconds",
        "totp.digits",
      ].sort(),
    );
    const unchanged = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    expect(unchanged.body).toMatchObject({ version: 2, code: { length: 8 } });
  });

  it("applies a config change to the next code sent", async () => {
    const enrolled = await h.call("POST", "/v1/users/cfg/factors", {
      body: { type: "email", email: "cfg@example.com" },
    });
    expect(enrolled.status).toBe(201);
    expect(await h.latestCode("cfg@example.com")).toMatch(/^\d{8}$/);
    expect(Date.parse(String(enrolled.body.expiresAt)) - h.stack.clock.now()).toBeLessThanOrEqual(120_000);
  });

  it("answers 404 for an unknown app", async () => {
    const missing = await h.call("GET", "/v1/admin/apps/nope/config", { auth: "admin" });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("app_not_found");
  });
});

describe("admin authorization", () => {
  it("refuses a client API key on admin routes with 403", async () => {
    const reply = await h.call("GET", "/v1/admin/apps/default/config", { auth: "client" });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe("forbidden");
  });

  it("refuses a missing or wrong admin token with 401", async () => {
    expect((await h.call("POST", "/v1/admin/apps", { auth: null, body: { name: "x" } })).status).toBe(401);
    expect(
      (await h.call("POST", "/v1/admin/apps", { auth: "otpa_wrong", body: { name: "x" } })).body.code,
    ).toBe("unauthorized");
  });

  it("refuses the admin token and unknown keys on client routes with 401", async () => {
    const reply = await h.call("GET", "/v1/users/alice/factors", { auth: "admin" });
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe("unauthorized");
    expect((await h.call("GET", "/v1/users/alice/factors", { auth: null })).status).toBe(401);
  });

  it("serves /healthz without authentication", async () => {
    const reply = await h.call("GET", "/healthz", { auth: null });
    expect(reply).toMatchObject({ status: 200, body: { ok: true } });
  });
});

describe("config writes need a precondition", () => {
  it("answers 428 without If-Match, and accepts * for whatever is current", async () => {
    const current = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    const missing = await h.call("PUT", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: current.body,
    });
    expect(missing.status).toBe(428);
    expect(missing.body.code).toBe("precondition_required");
    const star = await h.call("PUT", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: current.body,
      headers: { "if-match": "*" },
    });
    expect(star.status).toBe(200);
  });
});
