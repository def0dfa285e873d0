import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "#lib/routes";
import { enrollEmail, type Harness, startHarness } from "../support/harness.ts";

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

describe("the demo page's files on the local stack", () => {
  it.each([
    ["/demo/", "text/html"],
    ["/demo/demo.js", "text/javascript"],
    ["/demo/demo.css", "text/css"],
  ])("serves %s as %s under the strict CSP", async (path, type) => {
    const reply = await h.http("GET", path, { auth: null });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toContain(type);
    expect(reply.headers["content-security-policy"]).toBe(CSP);
    expect(reply.headers["x-content-type-options"]).toBe("nosniff");
    expect(reply.headers["cache-control"]).toBe("no-store");
    expect(reply.text).not.toContain(h.stack.credentials.apiKey);
  });

  it("has no inline script or style for the CSP to refuse", async () => {
    const { text } = await h.http("GET", "/demo/", { auth: null });
    expect(text).not.toMatch(/<style/i);
    expect(text).not.toMatch(/\sstyle=/i);
    expect(text).not.toMatch(/\son[a-z]+=/i);
    // Every script is a file: no <script> has a body.
    expect(text).not.toMatch(/<script[^>]*>\s*[^<\s]/i);
    expect(text).toContain('<script type="module" src="demo.js"></script>');
  });

  it("serves no other file under /demo/", async () => {
    for (const path of [
      "/demo/other.js",
      "/demo/index.html",
      "/demo/../package.json",
      "/demo/%2e%2e/README.md",
    ]) {
      expect((await h.http("GET", path, { auth: null })).status, path).toBe(404);
    }
  });
});

describe("the demo's proxies", () => {
  const proxies = routes.filter((r) => r.path.startsWith("/demo/api/"));
  const pathOf = (path: string): string => path.replace("{userId}", "eve").replace("{factorId}", "f1");

  it("cover every client route but none other", () => {
    const clientPaths = routes
      .filter((r) => r.auth === "client")
      .map((r) => `${r.method} ${r.path.replace("/v1/", "/demo/api/")}`);
    expect(proxies.map((r) => `${r.method} ${r.path}`).sort()).toEqual(clientPaths.sort());
  });

  it("refuse every request from another origin or another site", async () => {
    for (const route of proxies) {
      const refused: Record<string, string>[] = [
        { origin: "https://evil.example" },
        { "sec-fetch-site": "cross-site" },
      ];
      for (const headers of refused) {
        const reply = await h.http(route.method, pathOf(route.path), {
          auth: null,
          headers,
          ...(route.method === "POST" ? { body: { userId: "eve" } } : {}),
        });
        expect(reply.status, `${route.method} ${route.path}`).toBe(403);
        expect(reply.body.code).toBe("forbidden");
      }
    }
  });

  it("answer the page's own requests with the key added: sessions, recovery codes behind step-up, MFA off", async () => {
    const origin = new URL(h.stack.url).origin;
    const same = { origin, "sec-fetch-site": "same-origin" };
    await enrollEmail(h, "pat");
    // The activation was a verification: past the step-up window it no longer counts.
    h.stack.clock.advance(301);

    const codes = await h.http("POST", "/demo/api/users/pat/recovery-codes", { auth: null, headers: same });
    expect(codes.status).toBe(403);
    expect(codes.body.code).toBe("step_up_required");

    const revoked = await h.http("DELETE", "/demo/api/users/pat/sessions", { auth: null, headers: same });
    expect(revoked.status).toBe(204);

    // A verification is the step-up; then MFA goes off through the proxy.
    const challenge = await h.http("POST", "/demo/api/challenges", {
      auth: null,
      headers: same,
      body: { userId: "pat", channel: "email", purpose: "step_up" },
    });
    expect(challenge.status).toBe(201);
    const approved = await h.http("POST", "/demo/api/verifications", {
      auth: null,
      headers: same,
      body: {
        userId: "pat",
        challengeId: challenge.body.challengeId,
        code: await h.latestCode("pat@example.com"),
      },
    });
    expect(approved.status).toBe(200);
    const off = await h.http("DELETE", "/demo/api/users/pat/mfa", { auth: null, headers: same });
    expect(off.status).toBe(204);
    const list = await h.http("GET", "/demo/api/users/pat/factors", { auth: null, headers: same });
    expect(list.body).toMatchObject({ enabled: false, factors: [] });
    expect(list.text).not.toContain(h.stack.credentials.apiKey);
  });
});
