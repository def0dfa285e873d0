import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const OFFSETS_MS = [0, 1, 2, 5, 10, 20];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SECURITY.md rule 36: approval proves, in the approving write itself, that the code's
 * factor is still active and MFA still on. A right code racing a DELETE must never leave a
 * session that validates once the DELETE has answered 204.
 */
describe.each([
  { name: "DELETE /mfa", remove: (userId: string) => h.call("DELETE", `/v1/users/${userId}/mfa`) },
  {
    name: "removing the last factor",
    remove: (userId: string, factorId: string) => h.call("DELETE", `/v1/users/${userId}/factors/${factorId}`),
  },
])("a right code racing $name", ({ name, remove }) => {
  it.each(OFFSETS_MS)("sent %i ms after the DELETE leaves no valid session", async (offset) => {
    const userId = `race-${name.length}-${offset}`;
    const { factorId } = await enrollEmail(h, userId);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId, channel: "email" } });
    expect(sent.status).toBe(201);
    const code = await h.latestCode(`${userId}@example.com`);
    const deleted = remove(userId, factorId);
    await sleep(offset);
    const verified = await h.call("POST", "/v1/verifications", {
      body: { userId, challengeId: sent.body.challengeId, code },
    });
    expect((await deleted).status).toBe(204);
    expect([200, 410]).toContain(verified.status);
    if (verified.status === 200) {
      const session = await h.call("POST", "/v1/sessions/validate", {
        body: { sessionToken: verified.body.sessionToken },
      });
      expect(session.body).toEqual({ valid: false });
    }
    const after = await h.call("GET", `/v1/users/${userId}/factors`);
    expect(after.body).toMatchObject({ enabled: false, factors: [] });
  });
});

describe("a right code racing the removal of its own factor (another factor stays)", () => {
  it.each(OFFSETS_MS)("sent %i ms after the DELETE is refused or leaves no valid session", async (offset) => {
    const userId = `own-factor-${offset}`;
    // A number per test: SMS protection allows 5 SMS an hour to one number, whoever asks.
    const phone = `+1415555${String(142 + offset).padStart(4, "0")}`;
    await enrollEmail(h, userId);
    // a second factor, added with the step-up the first activation gave
    const sms = await h.call("POST", `/v1/users/${userId}/factors`, {
      body: { type: "sms", phone },
    });
    expect(sms.status).toBe(201);
    const smsCode = await h.latestCode(phone);
    const activated = await h.call("POST", `/v1/users/${userId}/factors/${sms.body.factorId}/activate`, {
      body: { code: smsCode },
    });
    expect(activated.status).toBe(200);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId, channel: "sms" } });
    const code = await h.latestCode(phone);
    const deleted = h.call("DELETE", `/v1/users/${userId}/factors/${sms.body.factorId}`);
    await sleep(offset);
    const verified = await h.call("POST", "/v1/verifications", {
      body: { userId, challengeId: sent.body.challengeId, code },
    });
    expect((await deleted).status).toBe(204);
    // Approved only if the approval landed before the removal; then the session was issued while the factor was active.
    expect([200, 410]).toContain(verified.status);
    const list = await h.call("GET", `/v1/users/${userId}/factors`);
    expect((list.body.factors as { type: string }[]).map((f) => f.type)).toEqual(["email"]);
    const again = await h.call("POST", "/v1/verifications", {
      body: { userId, challengeId: sent.body.challengeId, code },
    });
    expect(again.status).toBe(410);
  });
});
