import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, putConfig, startHarness } from "../support/harness.ts";
import { SoftAuthenticator } from "../support/soft-authenticator.ts";

let h: Harness;
let origin: string;
beforeAll(async () => {
  h = await startHarness();
  origin = `http://localhost:${new URL(h.stack.url).port}`;
});
afterAll(async () => {
  await h?.stop();
});

type Json = Record<string, unknown>;

async function register(userId: string, label?: string) {
  const key = new SoftAuthenticator({ origin });
  const enrolled = await h.call("POST", `/v1/users/${userId}/factors`, {
    body: { type: "webauthn", ...(label ? { label } : {}) },
  });
  expect(enrolled.status).toBe(201);
  const activated = await h.call("POST", `/v1/users/${userId}/factors/${enrolled.body.factorId}/activate`, {
    body: { credential: key.register(enrolled.body.creationOptions as never) },
  });
  return { key, enrolled, activated };
}

describe("WebAuthn over the client routes (the local stack's default app: rpId localhost)", () => {
  it("registers a key, logs in with it and lists it", async () => {
    const { key, enrolled, activated } = await register("alice", "YubiKey 5C");
    expect(enrolled.body).toMatchObject({ type: "webauthn", status: "pending", destination: "YubiKey 5C" });
    expect(enrolled.body.creationOptions).toMatchObject({
      rp: { id: "localhost", name: "Default app" },
      attestation: "none",
      authenticatorSelection: { userVerification: "preferred" },
    });
    expect(activated.status).toBe(200);
    expect(activated.body.factor).toMatchObject({ type: "webauthn", status: "active" });
    expect(activated.body.recoveryCodes).toHaveLength(10);

    const challenge = await h.call("POST", "/v1/challenges", {
      body: { userId: "alice", channel: "webauthn" },
    });
    expect(challenge.status).toBe(201);
    expect(Object.keys(challenge.body).sort()).toEqual([
      "challengeId",
      "channel",
      "expiresAt",
      "requestOptions",
    ]);
    expect(challenge.body).toMatchObject({ channel: "webauthn", requestOptions: { rpId: "localhost" } });
    expect(String(challenge.body.expiresAt)).toMatch(/^\d{4}-\d\d-\d\dT/);

    const assertion = key.assert(challenge.body.requestOptions as never);
    const body = { userId: "alice", challengeId: challenge.body.challengeId, credential: assertion };
    const approved = await h.call("POST", "/v1/verifications", { body });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: "approved",
      method: "webauthn",
      recoveryCodesRemaining: 10,
    });
    const valid = await h.call("POST", "/v1/sessions/validate", {
      body: { sessionToken: approved.body.sessionToken },
    });
    expect(valid.body).toMatchObject({ valid: true, userId: "alice" });

    const replay = await h.call("POST", "/v1/verifications", { body });
    expect(replay.status).toBe(422);
    expect(replay.body).toMatchObject({ code: "invalid_code", attemptsRemaining: 2 });
    expect(replay.headers["content-type"]).toBe("application/problem+json");

    const list = await h.call("GET", "/v1/users/alice/factors");
    expect((list.body.factors as Json[])[0]).toMatchObject({
      type: "webauthn",
      status: "active",
      destination: "YubiKey 5C",
      label: "YubiKey 5C",
      transports: ["usb"],
      backupEligible: false,
      backedUp: false,
      signCount: 1,
      lastUsedAt: expect.stringMatching(/^\d{4}-/),
    });
  });

  it("refuses a registration from another origin with 422 invalid_credential", async () => {
    const key = new SoftAuthenticator({ origin: "http://localhost:1" });
    const enrolled = await h.call("POST", "/v1/users/bob/factors", { body: { type: "webauthn" } });
    const refused = await h.call("POST", `/v1/users/bob/factors/${enrolled.body.factorId}/activate`, {
      body: { credential: key.register(enrolled.body.creationOptions as never) },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe("invalid_credential");
  });

  it("answers 400 invalid_request for bodies with both proofs, neither, or a credential without its challenge", async () => {
    const bad: Array<[string, string, unknown]> = [
      ["POST", "/v1/verifications", { userId: "alice", code: "123456", credential: {} }],
      ["POST", "/v1/verifications", { userId: "alice" }],
      ["POST", "/v1/verifications", { userId: "alice", credential: { id: "x" } }],
      ["POST", "/v1/verifications", { userId: "alice", challengeId: "ch_x", credential: "not an object" }],
      ["POST", "/v1/users/alice/factors/fac_x/activate", {}],
      ["POST", "/v1/users/alice/factors/fac_x/activate", { code: "123456", credential: {} }],
      ["POST", "/v1/challenges", { userId: "alice", channel: "totp" }],
      ["POST", "/v1/users/alice/factors", { type: "webauthn", label: "" }],
    ];
    for (const [method, path, body] of bad) {
      const reply = await h.call(method, path, { body });
      expect({ path, status: reply.status, code: reply.body.code }).toEqual({
        path,
        status: 400,
        code: "invalid_request",
      });
    }
    // a malformed credential for a real challenge is a failed assertion, never a 500
    const challenge = await h.call("POST", "/v1/challenges", {
      body: { userId: "alice", channel: "webauthn" },
    });
    const junk = await h.call("POST", "/v1/verifications", {
      body: { userId: "alice", challengeId: challenge.body.challengeId, credential: { id: 5, response: [] } },
    });
    expect(junk.status).toBe(422);
  });

  it("answers 400 webauthn_not_configured for an app without rpId, and 400 invalid_config for bad settings", async () => {
    const created = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Shop" } });
    const auth = String(created.body.apiKey);
    const enrolled = await h.call("POST", "/v1/users/carol/factors", { auth, body: { type: "webauthn" } });
    expect(enrolled.status).toBe(400);
    expect(enrolled.body.code).toBe("webauthn_not_configured");

    const appId = String(created.body.appId);
    const config = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
    expect(config.body.webauthn).toEqual({
      rpId: null,
      rpName: "Shop",
      origins: [],
      userVerification: "preferred",
      attestation: "none",
    });
    const refused = await h.call("PUT", `/v1/admin/apps/${appId}/config`, {
      auth: "admin",
      headers: { "if-match": String(config.headers.etag) },
      body: {
        ...config.body,
        webauthn: {
          ...(config.body.webauthn as Json),
          rpId: "shop.example",
          origins: ["http://shop.example"],
        },
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: "invalid_config",
      errors: [{ path: "webauthn.origins.0", message: expect.stringContaining("https") }],
    });
    await putConfig(h, appId, (c) => {
      c.webauthn = { ...(c.webauthn as Json), rpId: "shop.example", origins: ["https://www.shop.example"] };
    });
    const now = await h.call("POST", "/v1/users/carol/factors", { auth, body: { type: "webauthn" } });
    expect(now.status).toBe(201);
    expect(now.body.creationOptions).toMatchObject({ rp: { id: "shop.example", name: "Shop" } });
  });

  it("documents the webauthn channel and proofs in the OpenAPI document", async () => {
    const doc = (await h.call("GET", "/openapi.json", { auth: null })).text;
    const parsed = JSON.parse(doc) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    expect(JSON.stringify(parsed.paths["/v1/challenges"]?.post?.requestBody)).toContain('"webauthn"');
    expect(JSON.stringify(parsed.paths["/v1/verifications"]?.post?.requestBody)).toContain('"credential"');
    expect(
      JSON.stringify(parsed.paths["/v1/users/{userId}/factors/{factorId}/activate"]?.post?.requestBody),
    ).toContain('"credential"');
  });
});

describe("no credential, however malformed, gets a 500", () => {
  it("fuzzes the credential of activations and verifications", async () => {
    const key = new SoftAuthenticator({ origin });
    const enrolled = await h.call("POST", "/v1/users/fuzz/factors", { body: { type: "webauthn" } });
    const valid = key.register(enrolled.body.creationOptions as never);
    // a real registration with one field replaced by anything
    const mutated = fc
      .tuple(fc.constantFrom("id", "rawId", "type", "response", "clientExtensionResults"), fc.jsonValue())
      .map(([field, value]) => ({ ...valid, [field]: value }));
    const mutatedResponse = fc
      .tuple(
        fc.constantFrom("clientDataJSON", "attestationObject", "authenticatorData", "signature"),
        fc.string(),
      )
      .map(([field, value]) => ({ ...valid, response: { ...(valid.response as Json), [field]: value } }));
    const credential = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), mutated, mutatedResponse);
    await fc.assert(
      fc.asyncProperty(credential, fc.boolean(), async (candidate, activation) => {
        const reply = activation
          ? await h.call("POST", `/v1/users/fuzz/factors/${enrolled.body.factorId}/activate`, {
              body: { credential: candidate },
            })
          : await h.call("POST", "/v1/verifications", {
              body: { userId: "fuzz", challengeId: "ch_x", credential: candidate },
            });
        expect(reply.status).toBeLessThan(500);
        expect(reply.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
      }),
      { numRuns: 60 },
    );
  });
});

describe("the demo page and its proxy", () => {
  it("serves /demo/ without the API key, and forwards /demo/api/... with the key added", async () => {
    const page = await h.http("GET", "/demo/", { auth: null });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.text).toContain('src="demo.js"');
    const script = await h.http("GET", "/demo/demo.js", { auth: null });
    expect(script.text).toContain("parseCreationOptionsFromJSON");
    expect(page.text + script.text).not.toContain(h.stack.credentials.apiKey);

    const proxied = await h.http("POST", "/demo/api/challenges", {
      auth: null,
      body: { userId: "nobody", channel: "webauthn" },
    });
    expect(proxied.status).toBe(404);
    expect(proxied.body.code).toBe("no_factor");
    expect(proxied.text).not.toContain(h.stack.credentials.apiKey);

    const listed = await h.http("GET", "/demo/api/users/alice/factors", { auth: null });
    expect(listed.status).toBe(200);
    expect(listed.body.userId).toBe("alice");
  });

  it("refuses requests from another origin", async () => {
    const reply = await h.http("POST", "/demo/api/challenges", {
      auth: null,
      headers: { origin: "https://evil.example" },
      body: { userId: "alice", channel: "webauthn" },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe("forbidden");
  });
});
