import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOtpClient, type OtpClient } from "#lib/client/index";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
let client: OtpClient;
let admin: OtpClient;
const sent: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  const { baseUrl, apiKey, adminToken } = h.stack.credentials;
  // A fetch of the caller's own (the admin CLI passes a SigV4-signing one): it sees every request.
  const recording = (request: Request) => {
    sent.push(`${request.method} ${new URL(request.url).pathname}`);
    return fetch(request);
  };
  client = createOtpClient({ baseUrl, apiKey, fetch: recording });
  admin = createOtpClient({ baseUrl: `${baseUrl}/`, apiKey: adminToken });
});
afterAll(async () => {
  await h?.stop();
});

describe("the typed client against the local stack", () => {
  it("enrolls an email factor, activates it, sends a challenge, verifies it and validates the session", async () => {
    const userId = "tess";
    const email = "tess@example.com";
    const path = { userId };

    const enrolled = await client.POST("/v1/users/{userId}/factors", {
      params: { path },
      body: { type: "email", email },
    });
    expect(enrolled.response.status).toBe(201);
    if (enrolled.data?.type !== "email") throw new Error("expected a pending email factor");
    expect(enrolled.data).toMatchObject({ status: "pending", destination: "t***@example.com" });
    const factorId = enrolled.data.factorId;

    const activated = await client.POST("/v1/users/{userId}/factors/{factorId}/activate", {
      params: { path: { userId, factorId } },
      body: { code: await h.latestCode(email) },
    });
    expect(activated.data?.factor.status).toBe("active");
    expect(activated.data?.recoveryCodes).toHaveLength(10);

    const challenge = await client.POST("/v1/challenges", { body: { userId, channel: "email" } });
    if (!challenge.data || challenge.data.channel === "webauthn")
      throw new Error("expected an email challenge");
    expect(challenge.data.fallbackUsed).toBe(false);

    const wrong = await client.POST("/v1/verifications", {
      body: { userId, challengeId: challenge.data.challengeId, code: "00000000" },
    });
    expect(wrong.response.status).toBe(422);
    expect(wrong.error).toMatchObject({ code: "invalid_code", attemptsRemaining: 2 });

    const verified = await client.POST("/v1/verifications", {
      body: { userId, challengeId: challenge.data.challengeId, code: await h.latestCode(email) },
    });
    if (!verified.data) throw new Error(`verification failed: ${JSON.stringify(verified.error)}`);
    expect(verified.data).toMatchObject({ status: "approved", method: "email", recoveryCodesRemaining: 10 });

    const session = await client.POST("/v1/sessions/validate", {
      body: { sessionToken: verified.data.sessionToken },
    });
    expect(session.data).toEqual({ valid: true, userId, expiresAt: verified.data.sessionExpiresAt });

    const listed = await client.GET("/v1/users/{userId}/factors", { params: { path } });
    expect(listed.data?.factors.map((f) => [f.type, f.status])).toEqual([["email", "active"]]);
    expect(sent).toContain("POST /v1/sessions/validate");
  });

  it("calls admin routes with the admin token, ETag and If-Match included", async () => {
    const appId = "default";
    const current = await admin.GET("/v1/admin/apps/{appId}/config", { params: { path: { appId } } });
    const etag = current.response.headers.get("etag");
    if (!current.data || !etag) throw new Error("expected the config and its ETag");

    const patched = await admin.PATCH("/v1/admin/apps/{appId}/config", {
      params: { path: { appId }, header: { "If-Match": etag } },
      body: { stepUpSeconds: 600 },
      headers: { "content-type": "application/merge-patch+json" },
    });
    expect(patched.data?.stepUpSeconds).toBe(600);
    expect(patched.data?.version).toBe(current.data.version + 1);

    const user = await admin.GET("/v1/admin/apps/{appId}/users/{userId}", {
      params: { path: { appId, userId: "tess" } },
    });
    expect(user.data).toMatchObject({ userId: "tess", enabled: true, lockedUntil: null, activeSessions: 1 });

    const refused = await client.GET("/v1/admin/apps");
    expect(refused.response.status).toBe(403);
    expect(refused.error?.code).toBe("forbidden");
  });

  it("refuses at compile time what the service refuses at run time (tsc checks this file)", async () => {
    // @ts-expect-error: no such operation
    const unknown = await client.GET("/v1/no-such-route");
    expect(unknown.response.status).toBe(404);
    const pigeon = await client.POST("/v1/challenges", {
      // @ts-expect-error: the channel must be one the document lists
      body: { userId: "tess", channel: "pigeon" },
    });
    expect(pigeon.error?.code).toBe("invalid_request");
    const current = await admin.GET("/v1/admin/apps/{appId}/config", {
      params: { path: { appId: "default" } },
    });
    if (!current.data) throw new Error("expected the config");
    const { version: _, ...whole } = current.data;
    const unguarded = await admin.PUT("/v1/admin/apps/{appId}/config", {
      // @ts-expect-error: a config write needs If-Match
      params: { path: { appId: "default" } },
      body: whole,
    });
    expect(unguarded.error?.code).toBe("precondition_required");
  });
});
