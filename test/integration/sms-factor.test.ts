import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, putConfig, startHarness } from "../support/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("sms factors on the local stack (outbox provider)", () => {
  it("enrolls an E.164 number, masks it, activates it and sends login codes by sms first", async () => {
    const enrolled = await h.call("POST", "/v1/users/sam/factors", {
      body: { type: "sms", phone: "+1 (415) 555-0123" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({ type: "sms", status: "pending", destination: "+1******0123" });
    const [sms] = await h.stack.outboxMessages("+14155550123");
    expect(sms).toMatchObject({ channel: "sms", to: "+14155550123" });
    expect(sms?.body).toMatch(/^Your Default app code is \d{6}\. It expires in 5 min\.$/);
    const activated = await h.call("POST", `/v1/users/sam/factors/${enrolled.body.factorId}/activate`, {
      body: { code: await h.latestCode("+14155550123") },
    });
    expect(activated.status).toBe(200);
    const sent = await h.call("POST", "/v1/challenges", { body: { userId: "sam" } });
    expect(sent.body).toMatchObject({ channel: "sms", destination: "+1******0123", fallbackUsed: false });
  });

  it("reads national numbers with the app's default country code", async () => {
    await putConfig(h, "default", (config) => {
      (config.sms as Record<string, unknown>).defaultCountryCode = "+44";
    });
    const enrolled = await h.call("POST", "/v1/users/uk/factors", {
      body: { type: "sms", phone: "07400 123456" },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.destination).toBe("+44******3456");
    expect(await h.stack.outboxMessages("+447400123456")).toHaveLength(1);
  });

  it("refuses invalid numbers and countries outside the allow-list", async () => {
    const invalid = await h.call("POST", "/v1/users/bad/factors", { body: { type: "sms", phone: "+1 555" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe("invalid_phone");
    await putConfig(h, "default", (config) => {
      (config.sms as Record<string, unknown>).allowedCountries = ["US", "CA"];
    });
    const french = await h.call("POST", "/v1/users/fr/factors", {
      body: { type: "sms", phone: "+33 6 12 34 56 78" },
    });
    expect(french.status).toBe(400);
    expect(french.body.code).toBe("country_not_allowed");
    expect(await h.stack.outboxMessages("+33612345678")).toHaveLength(0);
  });
});
