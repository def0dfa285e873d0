import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/chromium.ts";
import { type Harness, startHarness } from "../support/harness.ts";

let h: Harness;
let browser: Browser | undefined;

beforeAll(async () => {
  h = await startHarness();
  browser = await launchChromium("the WebAuthn browser test");
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** Clicks, then waits for the status line beside the action to say ok or error. */
async function statusAfter(page: Page, button: string, statusId: string): Promise<string> {
  await page.click(button);
  const status = page.locator(`#${statusId}`);
  await expect.poll(async () => status.getAttribute("class"), { timeout: 15_000 }).toMatch(/\b(ok|error)\b/);
  return (await status.textContent()) ?? "";
}

/** The demo's password stand-in (any user id, the fixed demo password). */
async function signIn(page: Page, userId: string): Promise<void> {
  await page.fill("#user", userId);
  await page.fill("#password", "demo-password");
  await page.click("#sign-in");
}

describe("the demo page in Chromium with a virtual authenticator", () => {
  it("registers a key and logs in with it; the session validates", async () => {
    if (!browser) throw new Error("no browser");
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    // rpId localhost: the page must be opened on localhost (not 127.0.0.1).
    const port = new URL(h.stack.url).port;
    await page.goto(`http://localhost:${port}/demo/`);
    await signIn(page, "browser-user");
    await page.locator("#screen-account").waitFor();
    await page.fill("#label", "Virtual key");

    expect(await statusAfter(page, "#register", "webauthn-status")).toBe("Key registered: Virtual key");
    // The first activation turned MFA on: the recovery codes are shown, once.
    expect(await page.locator("#codes-list li").count()).toBe(10);

    await page.click("#sign-out");
    await signIn(page, "browser-user");
    await page.locator("#screen-second-factor").waitFor();
    const login = await statusAfter(page, "#login", "account-status");
    expect(login).toBe("Approved with webauthn. Session valid: yes, for browser-user.");

    // The service's own view: one active webauthn factor whose counter moved, one approval audited.
    const list = await h.call("GET", "/v1/users/browser-user/factors");
    expect(list.body.factors).toEqual([
      expect.objectContaining({
        type: "webauthn",
        status: "active",
        label: "Virtual key",
        transports: ["internal"],
      }),
    ]);
    const audit = await h.call("GET", "/v1/admin/apps/default/audit?userId=browser-user", { auth: "admin" });
    const approvals = (audit.body.events as Array<{ type: string; channel?: string }>).filter(
      (e) => e.type === "verification.approved",
    );
    expect(approvals).toEqual([expect.objectContaining({ channel: "webauthn" })]);
    await context.close();
  });
});
