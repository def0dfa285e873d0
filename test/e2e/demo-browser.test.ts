import { mkdir, readFile } from "node:fs/promises";
import { generateSync } from "otplib";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { type Harness, startHarness } from "../support/harness.ts";

/** `OTP_SCREENSHOTS=1`: the main screens are saved for the README (docs/screenshots/demo-<screen>.png). */
const SCREENSHOTS = process.env.OTP_SCREENSHOTS === "1";
const SCREENSHOT_DIR = new URL("../../docs/screenshots/", import.meta.url);

let h: Harness;
let browser: Browser | undefined;

beforeAll(async () => {
  h = await startHarness();
  browser = await launchChromium("the demo browser test");
  if (SCREENSHOTS) await mkdir(SCREENSHOT_DIR, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** A page on localhost (the app's WebAuthn rpId), recording any CSP violation or page error. */
async function openDemo(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  if (!browser) throw new Error("no browser");
  const context = await browser.newContext({
    permissions: ["clipboard-read", "clipboard-write"],
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    // An API's error answer (403 step_up_required, shown on the page) is logged as a failed load: not a fault.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(message.text());
    }
  });
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`http://localhost:${new URL(h.stack.url).port}/demo/`);
  return { context, page, problems };
}

/** Waits for a status line to match; an error shown there fails at once with its text. */
async function statusOf(page: Page, id: string, pattern: RegExp): Promise<string> {
  const status = page.locator(`#${id}`);
  await expect
    .poll(
      async () => {
        const text = (await status.textContent()) ?? "";
        if ((await status.getAttribute("class"))?.includes("error")) return `ERROR ${text}`;
        return text;
      },
      { timeout: 15_000 },
    )
    .toMatch(pattern);
  return (await status.textContent()) ?? "";
}

async function signIn(page: Page, userId: string): Promise<void> {
  await page.fill("#user", userId);
  await page.fill("#password", "demo-password");
  await page.click("#sign-in");
}

const totpNow = (secret: string): string =>
  generateSync({ secret, epoch: Math.floor(h.stack.clock.now() / 1000) });

/** The newest code in the outbox panel for an address, once a message newer than `after` shows there. */
async function codeInOutbox(page: Page, to: string, after = ""): Promise<string> {
  let code = "";
  await expect
    .poll(
      async () => {
        const newest = page.locator("#outbox li", { hasText: to }).first();
        const text = (await newest.count()) > 0 ? ((await newest.textContent()) ?? "") : "";
        code = /\b(\d{6})\b/.exec(text)?.[1] ?? "";
        return code !== "" && text !== after ? text : "";
      },
      { timeout: 10_000 },
    )
    .not.toBe("");
  return code;
}

async function shot(page: Page, screen: string): Promise<void> {
  if (SCREENSHOTS) {
    // From the top: the outbox column is sticky, and a full-page shot keeps the last scroll position.
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: new URL(`demo-${screen}.png`, SCREENSHOT_DIR).pathname, fullPage: true });
  }
}

describe("the demo client app in Chromium", () => {
  it("refuses a wrong stand-in password beside the field", async () => {
    const { context, page } = await openDemo();
    await page.fill("#user", "someone");
    await page.fill("#password", "nope");
    await page.click("#sign-in");
    expect(await statusOf(page, "sign-in-status", /Wrong password/)).toContain("demo-password");
    expect(await page.locator("#screen-account").isHidden()).toBe(true);
    await shot(page, "sign-in");
    await context.close();
  });

  it("enrolls an authenticator app from the rendered secret, logs in with TOTP and with a downloaded recovery code, and turns MFA off after a step-up", async () => {
    const { context, page, problems } = await openDemo();
    await signIn(page, "totp-user");
    await statusOf(page, "account-status", /password only/);

    await page.fill("#enroll-totp-label", "totp-user@example.com");
    await page.click("#enroll-totp");
    await statusOf(page, "totp-enroll-status", /Scan the QR code/);
    const secret = ((await page.locator("#totp-secret").textContent()) ?? "").trim();
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    // The QR code is an image the browser decoded (a data: URL under the page's CSP), not a string.
    const qr = page.locator("#totp-qr");
    expect(await qr.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    await expect
      .poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    await shot(page, "totp-setup");

    await page.fill("#activate-totp-code", totpNow(secret));
    await page.click("#activate-totp");
    await statusOf(page, "totp-enroll-status", /Authenticator app active/);
    const shown = await page.locator("#codes-list li").allTextContents();
    expect(shown).toHaveLength(10);
    await shot(page, "recovery-codes");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-codes")]);
    expect(download.suggestedFilename()).toBe("recovery-codes-totp-user.txt");
    const file = await readFile(await download.path(), "utf8");
    const codes: string[] = file.match(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/gm) ?? [];
    expect(codes).toEqual(shown);

    await page.click("#hide-codes");
    expect(await page.locator("#codes-panel").isHidden()).toBe(true);
    await page.click("#sign-out");

    // MFA is on now: the password alone leads to the second factor, offering the app and recovery codes.
    await signIn(page, "totp-user");
    await page.locator("#screen-second-factor").waitFor();
    expect(await page.locator("#by-totp").isVisible()).toBe(true);
    expect(await page.locator("#by-code").isHidden()).toBe(true);
    await shot(page, "second-factor");
    // The activation code's time step is spent (a TOTP code is accepted once): the next one.
    h.stack.clock.advance(30);
    await page.fill("#totp-code", totpNow(secret));
    await page.click("#verify-totp");
    expect(await statusOf(page, "account-status", /Approved/)).toBe(
      "Approved with totp. Session valid: yes, for totp-user.",
    );
    await shot(page, "account");
    await page.click("#sign-out");

    await signIn(page, "totp-user");
    await page.fill("#recovery-code", codes[3] ?? "");
    await page.click("#verify-recovery");
    expect(await statusOf(page, "account-status", /Approved/)).toBe(
      "Approved with recovery. Session valid: yes, for totp-user. 9 recovery codes left.",
    );

    // Within the step-up window (the recovery code just now): new codes at once, the old ones void.
    await page.click("#new-codes");
    await statusOf(page, "sensitive-status", /New recovery codes made/);
    const renewed = await page.locator("#codes-list li").allTextContents();
    expect(renewed).toHaveLength(10);
    expect(renewed.filter((code) => codes.includes(code))).toEqual([]);
    await page.click("#copy-codes");
    await statusOf(page, "codes-status", /Copied/);
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(renewed.join("\n"));
    await page.click("#hide-codes");

    // Past the step-up window the change asks for a verification first, then goes through.
    h.stack.clock.advance(301);
    await page.click("#mfa-off");
    await page.locator("#screen-second-factor").waitFor();
    expect(await page.locator("#second-title").textContent()).toBe("Confirm it's you");
    await shot(page, "step-up");
    await page.fill("#totp-code", totpNow(secret));
    await page.click("#verify-totp");
    await statusOf(page, "sensitive-status", /Two-factor authentication is off/);
    expect(await page.locator("#mfa-summary").textContent()).toContain("off");

    const list = await h.call("GET", "/v1/users/totp-user/factors");
    expect(list.body).toMatchObject({ enabled: false, factors: [] });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("enrolls email and SMS with the codes from the outbox panel, logs in by email (after a fallback from SMS) and by SMS", async () => {
    const { context, page, problems } = await openDemo();
    await signIn(page, "mail-user");
    await statusOf(page, "account-status", /password only/);

    await page.fill("#enroll-email-address", "mail-user@example.com");
    await page.click("#enroll-email");
    await statusOf(page, "email-status", /Code sent to m\*+@example\.com/);
    const enrollCode = await codeInOutbox(page, "mail-user@example.com");
    await shot(page, "email-enroll");
    await page.fill("#activate-email-code", enrollCode);
    await page.click("#activate-email");
    await statusOf(page, "email-status", /Email active/);
    expect(await page.locator("#codes-list li").count()).toBe(10);
    await page.click("#hide-codes");
    await page.click("#sign-out");

    // The app's primary method is SMS, and this user has email only: the service falls back, and the page says so.
    await signIn(page, "mail-user");
    const enrollMessage =
      (await page.locator("#outbox li", { hasText: "mail-user@example.com" }).first().textContent()) ?? "";
    await page.click("#send-auto");
    expect(await statusOf(page, "send-status", /Code sent/)).toBe(
      "Code sent by email to m***@example.com. Fallback used (no_factor): sent by email.",
    );
    expect(await page.locator("#send-status").getAttribute("class")).toBe("status warn");
    await shot(page, "fallback");
    await page.fill("#challenge-code", await codeInOutbox(page, "mail-user@example.com", enrollMessage));
    await page.click("#verify-challenge");
    await statusOf(page, "account-status", /Approved with email/);

    await page.fill("#enroll-sms-phone", "+14155550199");
    await page.click("#enroll-sms");
    await statusOf(page, "sms-status", /Code sent to/);
    await page.fill("#activate-sms-code", await codeInOutbox(page, "+14155550199"));
    await page.click("#activate-sms");
    await statusOf(page, "sms-status", /SMS active/);
    expect(await page.locator("#factors-body tr").count()).toBe(2);
    await page.click("#sign-out");

    await signIn(page, "mail-user");
    const before =
      (await page.locator("#outbox li", { hasText: "mail-user@example.com" }).first().textContent()) ?? "";
    await page.click("#send-email");
    await statusOf(page, "send-status", /Code sent by email to m\*+@example\.com/);
    await page.fill("#challenge-code", await codeInOutbox(page, "mail-user@example.com", before));
    await page.click("#verify-challenge");
    expect(await statusOf(page, "account-status", /Approved/)).toBe(
      "Approved with email. Session valid: yes, for mail-user.",
    );
    await page.click("#sign-out");

    await signIn(page, "mail-user");
    const smsBefore =
      (await page.locator("#outbox li", { hasText: "+14155550199" }).first().textContent()) ?? "";
    await page.click("#send-sms");
    await statusOf(page, "send-status", /Code sent by sms/);
    await page.fill("#challenge-code", await codeInOutbox(page, "+14155550199", smsBefore));
    await shot(page, "code-login");
    await page.click("#verify-challenge");
    expect(await statusOf(page, "account-status", /Approved/)).toBe(
      "Approved with sms. Session valid: yes, for mail-user.",
    );
    // Removing a method is a sensitive change too; the SMS login just now is the step-up.
    await page.getByRole("button", { name: /^Remove SMS/ }).click();
    await statusOf(page, "factors-status", /Removed SMS/);
    expect(await page.locator("#factors-body tr").count()).toBe(1);
    const left = await h.call("GET", "/v1/users/mail-user/factors");
    expect(left.body.factors).toEqual([expect.objectContaining({ type: "email", status: "active" })]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("is usable from the keyboard: the password form submits with Enter", async () => {
    const { context, page } = await openDemo();
    await page.fill("#user", "keyboard-user");
    await page.focus("#password");
    await page.keyboard.type("demo-password");
    await page.keyboard.press("Enter");
    await statusOf(page, "account-status", /password only/);
    // Focus moved to the new screen's heading, so a screen reader or Tab starts there.
    expect(await page.evaluate("document.activeElement?.id")).toBe("account-title");
    await context.close();
  });
});
