import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { type FakeTwilio, startFakeTwilio, twilioSid } from "../support/fake-twilio.ts";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

const ACCOUNT = { sid: twilioSid("AC"), token: "c".repeat(32) };
/** Screenshots for the README only when asked: a test run must not rewrite committed images. */
const SCREENSHOTS = process.env.OTP_SCREENSHOTS === "1";
const SHOTS_DIR = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

let h: Harness;
let twilio: FakeTwilio;
let browser: Browser | undefined;
let context: BrowserContext;
/** The app the tests create in the first test and use after it. */
let appId = "";

beforeAll(async () => {
  twilio = await startFakeTwilio([ACCOUNT]);
  h = await startHarness({ twilioApiUrl: twilio.url });
  browser = await launchChromium("the console browser test");
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (SCREENSHOTS) await mkdir(SHOTS_DIR, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await twilio?.stop();
});

/** A page on the console; any page error or CSP violation fails the test that made it. */
async function open(hash: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    // A 4xx answer is logged by the browser as a failed resource; the console shows it itself.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      errors.push(message.text());
  });
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${h.stack.url}/console/${hash}`);
  return page;
}
const errorsOf = (page: Page): string[] => (page as Page & { errors?: string[] }).errors ?? [];

async function shot(page: Page, screen: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: `${SHOTS_DIR}console-${screen}.png`, fullPage: true });
}

const settingsOf = async (id: string) =>
  (await h.call("GET", `/v1/admin/apps/${id}/config`, { auth: "admin" })).body;

describe("the admin console in Chromium", () => {
  it("creates an app, fills the SMS settings with two sender numbers and a default, saves, and shows them after a reload", async () => {
    const page = await open("#/apps");
    await page.getByLabel("App name").fill("Console shop");
    await page.getByRole("button", { name: "Create app" }).click();
    await expect.poll(() => page.locator(".status.ok").first().textContent()).toMatch(/^App created: /);
    appId = ((await page.locator(".status.ok").first().textContent()) ?? "").replace("App created: ", "");
    // The new key is shown once, and it works as the app's key.
    const apiKey = (await page.locator(".secret-once").textContent()) ?? "";
    const asClient = await h.call("GET", "/v1/users/nobody/factors", { auth: apiKey });
    expect(asClient.status).toBe(200);
    await expect.poll(() => page.locator("table.apps").textContent()).toContain("Console shop");
    await shot(page, "apps");

    await page.getByRole("link", { name: "Open its settings" }).click();
    await page.locator("#save").waitFor();
    await page.getByLabel("Provider", { exact: true }).selectOption("twilio");
    await page.getByLabel("Default country code").fill("+44");
    await page.getByRole("button", { name: "New number" }).click();
    await page.getByLabel("Sender 1 number").fill("+14155550100");
    await page.getByLabel("Sender 1 countries").fill("US, ca");
    await page.getByRole("button", { name: "New number" }).click();
    await page.getByLabel("Sender 2 number").fill("+447700900123");
    await page.getByLabel("Sender 2 countries").fill("GB");
    await page.getByLabel("Default number").selectOption("+447700900123");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => page.locator("#save-status").textContent()).toBe("Saved: version 2.");

    await page.reload();
    await page.locator("#save").waitFor();
    expect(await page.getByLabel("Sender 1 number").inputValue()).toBe("+14155550100");
    expect(await page.getByLabel("Sender 1 countries").inputValue()).toBe("US, CA");
    expect(await page.getByLabel("Sender 2 number").inputValue()).toBe("+447700900123");
    expect(await page.getByLabel("Sender 2 countries").inputValue()).toBe("GB");
    expect(await page.getByLabel("Default number").inputValue()).toBe("+447700900123");
    expect(await page.getByLabel("Default country code").inputValue()).toBe("+44");
    const saved = (await settingsOf(appId)).sms as Record<string, unknown>;
    expect(saved.senders).toEqual([
      { number: "+14155550100", countries: ["US", "CA"] },
      { number: "+447700900123", countries: ["GB"] },
    ]);
    expect(saved.defaultSender).toBe("+447700900123");
    await shot(page, "settings");
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("creates a second API key (shown once) and revokes the first by its id", async () => {
    const first = await h.call("POST", `/v1/admin/apps/${appId}/api-keys`, { auth: "admin" });
    const page = await open(`#/apps/${appId}`);
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.locator(".secret-once").waitFor();
    const newKey = (await page.locator(".secret-once").textContent()) ?? "";
    expect((await h.call("GET", "/v1/users/nobody/factors", { auth: newKey })).status).toBe(200);

    page.once("dialog", (dialog) => dialog.accept());
    await page.getByLabel("Key id to revoke").fill(String(first.body.keyId));
    await page.getByRole("button", { name: "Revoke key" }).click();
    await expect
      .poll(() => page.locator(".status.ok").last().textContent())
      .toBe(`Key ${first.body.keyId} revoked: it is refused from now on.`);
    const refused = await h.call("GET", "/v1/users/nobody/factors", { auth: String(first.body.apiKey) });
    expect(refused.status).toBe(401);
    expect((await h.call("GET", "/v1/users/nobody/factors", { auth: newKey })).status).toBe(200);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("sets a Twilio secret (write-only) and Test shows the provider's message id", async () => {
    const page = await open(`#/secrets?app=${appId}`);
    await page.locator("#secret-value").waitFor();
    await expect.poll(() => page.locator('[data-secret="twilio"]').textContent()).toContain("not set");
    await page.getByLabel("Secret name").fill("twilio");
    await page
      .getByLabel("Value (JSON, write-only)")
      .fill(JSON.stringify({ accountSid: ACCOUNT.sid, authToken: ACCOUNT.token }));
    await page.getByRole("button", { name: "Save secret" }).click();
    await expect.poll(() => page.locator("#secret-status").textContent()).toBe("Secret twilio saved.");
    expect(await page.locator("#secret-value").inputValue()).toBe("");
    await expect.poll(() => page.locator('[data-secret="twilio"] .badge').textContent()).toBe("set");
    expect(await page.content()).not.toContain(ACCOUNT.token);

    expect(await page.locator("#test-app").inputValue()).toBe(appId);
    await page.getByLabel("Send to").fill("+14155550123");
    await page.getByRole("button", { name: "Test" }).click();
    await expect
      .poll(() => page.locator("#test-status").textContent(), { timeout: 10_000 })
      .toMatch(/^Delivered by twilio: message id SM[0-9a-f]{32}$/);
    const id = /SM[0-9a-f]{32}/.exec((await page.locator("#test-status").textContent()) ?? "")?.[0];
    expect(twilio.messages.map((m) => m.sid)).toContain(id);
    expect(twilio.messages.at(-1)).toMatchObject({ to: "+14155550123", from: "+14155550100" });

    await shot(page, "secrets");

    // The provider refuses (Twilio 21610, unsubscribed recipient): its answer is shown where Test was pressed.
    twilio.failFor("+14155550124", 21610);
    await page.getByLabel("Send to").fill("+14155550124");
    await page.getByRole("button", { name: "Test" }).click();
    await expect.poll(() => page.locator("#test-status").getAttribute("class")).toBe("status error");
    expect(await page.locator("#test-status").textContent()).toMatch(/delivery_failed.*provider code: 21610/);
    twilio.clearFaults();
    // A malformed number: the service's own error, beside the field.
    await page.getByLabel("Send to").fill("not-a-number");
    await page.getByRole("button", { name: "Test" }).click();
    await expect.poll(() => page.locator("#test-status").textContent()).toContain("invalid_phone");
    expect(await page.locator("#test-to-error").textContent()).not.toBe("");
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("shows a version conflict clearly when another tab saved first, and reloads on request", async () => {
    const first = await open(`#/apps/${appId}/settings`);
    const second = await open(`#/apps/${appId}/settings`);
    await first.locator("#save").waitFor();
    await second.locator("#save").waitFor();
    await first.getByLabel("Code length (digits)").fill("7");
    await first.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => first.locator("#save-status").textContent()).toMatch(/^Saved: version \d+\.$/);

    await second.getByLabel("Code length (digits)").fill("8");
    await second.getByRole("button", { name: "Save settings" }).click();
    await expect
      .poll(() => second.locator("#save-status").textContent())
      .toContain("These settings were changed elsewhere");
    expect(((await settingsOf(appId)).code as { length: number }).length).toBe(7);
    await second.getByRole("button", { name: "Reload settings" }).click();
    await expect.poll(() => second.getByLabel("Code length (digits)").inputValue()).toBe("7");
    expect([...errorsOf(first), ...errorsOf(second)]).toEqual([]);
    await first.close();
    await second.close();
  });

  it("shows an invalid value's error beside its field, and saves nothing", async () => {
    const page = await open(`#/apps/${appId}/settings`);
    await page.locator("#save").waitFor();
    const before = await settingsOf(appId);
    await page.getByLabel("Code length (digits)").fill("42");
    await page.getByLabel("Sender 2 number").fill("12345");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => page.locator("#save-status").textContent()).toContain("invalid_config");

    const length = page.getByLabel("Code length (digits)");
    expect(await length.getAttribute("aria-invalid")).toBe("true");
    const lengthError = page.locator(`#${await length.getAttribute("id")}-error`);
    expect(await lengthError.textContent()).toMatch(/10/);
    const sender = page.getByLabel("Sender 2 number");
    expect(await sender.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator(`#${await sender.getAttribute("id")}-error`).textContent()).not.toBe("");
    // Other fields carry no error.
    expect(await page.getByLabel("Sender 1 number").getAttribute("aria-invalid")).toBeNull();
    expect((await settingsOf(appId)).version).toBe(before.version);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("round-trips every field: a save without edits changes nothing, and a new locale's templates are saved", async () => {
    const current = await h.call("GET", `/v1/admin/apps/${appId}/config`, { auth: "admin" });
    const patched = await h.http("PATCH", `/v1/admin/apps/${appId}/config`, {
      auth: "admin",
      rawBody: JSON.stringify({
        mfa: { required: true, exemptUserIds: ["api-bot", "ops"] },
        sms: { messagingServiceSid: `MG${"a".repeat(32)}`, allowedCountries: ["US", "GB"] },
        email: { fromAddress: "no-reply@example.com", configurationSet: "otp" },
        totp: { digits: 8, periodSeconds: 60, algorithm: "SHA256" },
        webauthn: { rpId: "example.com", origins: ["https://login.example.com"], attestation: "direct" },
        smsProtection: {
          mode: "monitor",
          perCountry: { overrides: { NG: 5, ZZ: 1 } },
          blockedPrefixes: ["+88216"],
          conversion: { minRate: 0.35 },
        },
        templates: { fr: { sms: "Code {app} : {code}" } },
      }),
      headers: { "content-type": "application/merge-patch+json", "if-match": current.headers.etag ?? "" },
    });
    expect(patched.status).toBe(200);
    const { version: before, ...document } = await settingsOf(appId);

    const page = await open(`#/apps/${appId}/settings`);
    await page.locator("#save").waitFor();
    expect(await page.getByLabel("Per-country hourly limits (e.g. NG=5, ZZ=1)").inputValue()).toBe(
      "NG=5, ZZ=1",
    );
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect
      .poll(() => page.locator("#save-status").textContent())
      .toBe(`Saved: version ${Number(before) + 1}.`);
    const { version: after, ...saved } = await settingsOf(appId);
    expect(after).toBe(Number(before) + 1);
    expect(saved).toEqual(document);

    await page.getByLabel("New locale").fill("de");
    await page.getByRole("button", { name: "Add locale" }).click();
    await page.getByLabel("SMS text (de)").fill("Ihr {app}-Code: {code}");
    await page.getByLabel("Email subject (de)").fill("Ihr {app}-Code");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect
      .poll(() => page.locator("#save-status").textContent())
      .toBe(`Saved: version ${Number(before) + 2}.`);
    expect((await settingsOf(appId)).templates).toMatchObject({
      de: { sms: "Ihr {app}-Code: {code}", emailSubject: "Ihr {app}-Code" },
      fr: { sms: "Code {app} : {code}" },
    });
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("shows SMS protection's live state: a country the breaker paused, and Resume", async () => {
    const current = await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" });
    const patched = await h.http("PATCH", "/v1/admin/apps/default/config", {
      auth: "admin",
      rawBody: JSON.stringify({ smsProtection: { conversion: { minSends: 5, minRate: 0.5 } } }),
      headers: { "content-type": "application/merge-patch+json", "if-match": current.headers.etag ?? "" },
    });
    expect(patched.status).toBe(200);
    // SMS to the US that nobody verifies: the conversion breaker pauses the country.
    const enroll = (i: number) =>
      h.call("POST", `/v1/users/pumped-${i}/factors`, { body: { type: "sms", phone: `+1415555030${i}` } });
    const advance = async (advanceSeconds: number) =>
      expect((await h.http("POST", "/dev/clock", { auth: null, body: { advanceSeconds } })).status).toBe(200);
    // Start at the top of the breaker's hour window, so the sends and their expiry fall in one window.
    const now = Date.parse(String((await h.http("GET", "/dev/clock", { auth: null })).body.now));
    await advance(Math.ceil((3_600_000 - (now % 3_600_000)) / 1000) + 1);
    for (let i = 0; i < 5; i++) expect((await enroll(i)).status).toBe(201);
    // Their codes expire unused (the local stack's clock moves on), and the next SMS finds the rate too low.
    await advance(1200);
    expect((await enroll(5)).body).toMatchObject({ code: "sms_blocked", reason: "conversion_breaker" });
    const state = await h.call("GET", "/v1/admin/apps/default/sms-protection", { auth: "admin" });
    expect(state.body.countries).toEqual(
      expect.arrayContaining([expect.objectContaining({ country: "US", pausedUntil: expect.any(String) })]),
    );

    const page = await open("#/apps/default/settings");
    const resume = page.getByRole("button", { name: "Resume US" });
    await resume.waitFor();
    await resume.click();
    await expect.poll(() => page.locator("#protection-state").textContent()).toContain("SMS to US resumed.");
    expect(await page.getByRole("button", { name: "Resume US" }).count()).toBe(0);
    const after = await h.call("GET", "/v1/admin/apps/default/sms-protection", { auth: "admin" });
    expect(after.body.countries).toEqual(
      expect.arrayContaining([expect.objectContaining({ country: "US", pausedUntil: null })]),
    );
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it("looks a user up, unlocks them, pages through the audit log and shows the doctor report", async () => {
    await enrollEmail(h, "console-user");
    for (let i = 0; i < 3; i++) {
      const challenge = await h.call("POST", "/v1/challenges", {
        body: { userId: "console-user", channel: "email" },
      });
      await h.call("POST", "/v1/verifications", {
        body: { userId: "console-user", challengeId: challenge.body.challengeId, code: "000000" },
      });
    }

    const users = await open("#/apps/default/users");
    await users.getByLabel("User id").fill("console-user");
    await users.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => users.locator("#user-details").textContent()).toContain("email");
    expect(await users.locator("#user-lock").textContent()).toMatch(/^until /);
    await shot(users, "users");
    await users.getByRole("button", { name: "Unlock" }).click();
    await expect.poll(() => users.locator("#user-lock").textContent()).toBe("no");
    expect(await users.locator("#user-status").textContent()).toBe(
      "console-user unlocked; failed attempts reset.",
    );
    await users.getByLabel("User id").fill("not a valid id/");
    await users.getByRole("button", { name: "Look up" }).click();
    await expect.poll(() => users.locator("#user-status").getAttribute("class")).toBe("status error");
    expect(errorsOf(users)).toEqual([]);
    await users.close();

    const audit = await open("#/apps/default/audit");
    await audit.locator("#audit-table").waitFor();
    await audit.getByLabel("User id").fill("console-user");
    await audit.getByLabel("Per page").fill("2");
    await audit.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => audit.locator("#audit-table tbody tr").count()).toBe(2);
    await audit.getByRole("button", { name: "Next page" }).click();
    await expect.poll(() => audit.locator("#audit-table tbody tr").count()).toBe(4);
    await audit.getByLabel("Event type").selectOption("user.locked");
    await audit.getByLabel("Per page").fill("100");
    await audit.getByRole("button", { name: "Show" }).click();
    await expect.poll(() => audit.locator("#audit-table tbody tr").count()).toBe(1);
    expect(await audit.locator("#audit-table tbody").textContent()).toContain("user.locked");
    await shot(audit, "audit");
    expect(errorsOf(audit)).toEqual([]);
    await audit.close();

    // A new app: no from-address, no sender yet.
    const fresh = await h.call("POST", "/v1/admin/apps", { auth: "admin", body: { name: "Not ready yet" } });
    const doctor = await open(`#/apps/${fresh.body.appId}/doctor`);
    await expect.poll(() => doctor.locator("#doctor-ready").textContent()).toBe("Not ready");
    // The app has no from-address: that check fails and says how to fix it.
    expect(await doctor.locator(".checks li.fail").count()).toBeGreaterThan(0);
    expect(await doctor.locator(".checks .fix").count()).toBeGreaterThan(0);
    await shot(doctor, "doctor");
    expect(errorsOf(doctor)).toEqual([]);
    await doctor.close();
  });
});
