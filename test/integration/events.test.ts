import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusEvent } from "#lib/local-event-bus";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const busEvents = async (): Promise<BusEvent[]> => {
  const reply = await h.http("GET", "/dev/events", { auth: null });
  expect(reply.status).toBe(200);
  return reply.body.events as BusEvent[];
};

describe("audit events on the bus (GET /dev/events: what the cloud puts on EventBridge)", () => {
  it("shows every audit event of a request, newest first, as source otp-service with detail-type = its type", async () => {
    const { recoveryCodes } = await enrollEmail(h, "evan", "evan@example.com");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "evan", channel: "email" } });
    const code = await h.latestCode("evan@example.com");
    const approved = await h.call("POST", "/v1/verifications", {
      body: { userId: "evan", challengeId: sent.body.challengeId, code },
    });
    expect(approved.status).toBe(200);

    const events = await busEvents();
    const evan = events.filter((e) => e.detail.userId === "evan");
    // Enrollment (a code sent, the factor pending), activation, then a login: newest first.
    expect(evan.map((e) => [e["detail-type"], e.detail.outcome])).toEqual([
      ["verification.approved", "approved"],
      ["challenge.sent", "sent"],
      ["factor.activated", "mfa_enabled"],
      ["factor.enrolled", "pending"],
      ["challenge.sent", "sent"],
    ]);
    expect(evan[0]).toMatchObject({
      source: "otp-service",
      "detail-type": "verification.approved",
      detail: { appId: "default", userId: "evan", type: "verification.approved", channel: "email" },
    });
    const times = evan.map((e) => Date.parse(e.time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // Destinations are masked; no code, recovery code, key or token is on the bus.
    const text = JSON.stringify(events);
    expect(text).not.toContain("evan@example.com");
    expect(evan.some((e) => String(e.detail.destination ?? "").includes("*"))).toBe(true);
    for (const secret of [
      code,
      ...recoveryCodes,
      h.stack.credentials.apiKey,
      String(approved.body.sessionToken),
    ])
      expect(text).not.toContain(secret);
  });

  it("publishes an approval only if it happened: 10 parallel submissions of one code, one approval on the bus", async () => {
    await enrollEmail(h, "race", "race@example.com");
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "race", channel: "email" } });
    const code = await h.latestCode("race@example.com");
    const before = (await busEvents()).filter(
      (e) => e.detail.userId === "race" && e["detail-type"] === "verification.approved",
    ).length;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.call("POST", "/v1/verifications", {
          body: { userId: "race", challengeId: sent.body.challengeId, code },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const approvals = (await busEvents()).filter(
      (e) => e.detail.userId === "race" && e["detail-type"] === "verification.approved",
    );
    expect(approvals.length - before).toBe(1);
  });

  it("carries admin actions with their actor, and lockouts", async () => {
    const config = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    const patched = await h.call("PATCH", "/v1/admin/apps/default/config", {
      auth: "admin",
      body: { stepUpSeconds: 120 },
      headers: { "content-type": "application/merge-patch+json", "if-match": String(config.headers.etag) },
    });
    expect(patched.status).toBe(200);
    const [latest] = await busEvents();
    expect(latest).toMatchObject({
      "detail-type": "config.updated",
      detail: { appId: "default", actor: "local-admin", outcome: `version ${patched.body.version}` },
    });
  });
});
