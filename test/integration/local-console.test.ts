import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_CSP } from "#lib/console-assets";
import { routes } from "#lib/routes";
import { type Harness, startHarness } from "../support/harness.ts";
import { rawGet } from "../support/raw-get.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("the console's pages on the local stack", () => {
  it("serves /console/ and its modules with the strict CSP; an unknown or odd file is 404", async () => {
    const page = await h.http("GET", "/console/", { auth: null });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(page.text).toContain('<script type="module" src="console.js">');

    for (const file of ["console.js", "api.js", "settings.js", "secrets.js", "console.css"]) {
      const asset = await h.http("GET", `/console/${file}`, { auth: null });
      expect(asset.status, file).toBe(200);
      expect(asset.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    }
    expect((await h.http("GET", "/console/api.js", { auth: null })).headers["content-type"]).toBe(
      "text/javascript; charset=utf-8",
    );
    for (const path of ["/console/nope.js", "/console/console.ts", "/console/..%2Flocal-console.ts"]) {
      const missing = await h.http("GET", path, { auth: null });
      expect(missing.status, path).toBe(404);
      expect(missing.headers["content-type"]).toBe("application/problem+json");
    }
  });

  it("GET / links the console, the demo app, the outbox, the events and the OpenAPI document", async () => {
    const home = await h.http("GET", "/", { auth: null });
    expect(home.status).toBe(200);
    expect(home.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    const links = [...home.text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(
      expect.arrayContaining(["/console/", "/demo/", "/dev/outbox", "/dev/events", "/openapi.json"]),
    );
    for (const link of ["/console/", "/demo/", "/dev/outbox", "/openapi.json"]) {
      expect((await h.http("GET", link ?? "", { auth: null })).status, link).toBe(200);
    }
  });
});

describe("the console's admin proxy", () => {
  it("adds the admin token: an admin call works with no token from the browser", async () => {
    expect((await h.http("GET", "/v1/admin/apps", { auth: null })).status).toBe(401);
    const apps = await h.http("GET", "/console/api/admin/apps", { auth: null });
    expect(apps.status).toBe(200);
    expect(apps.body.apps).toEqual(expect.arrayContaining([expect.objectContaining({ appId: "default" })]));
    expect(apps.text).not.toContain(h.stack.credentials.adminToken);

    const created = await h.http("POST", "/console/api/admin/apps", {
      auth: null,
      body: { name: "Proxied" },
    });
    expect(created.status).toBe(201);
    const appId = String(created.body.appId);
    // ETag and If-Match pass through: a PATCH with the version from the GET is applied.
    const config = await h.http("GET", `/console/api/admin/apps/${appId}/config`, { auth: null });
    expect(config.headers.etag).toBe('"1"');
    const patched = await h.http("PATCH", `/console/api/admin/apps/${appId}/config`, {
      auth: null,
      rawBody: JSON.stringify({ code: { length: 8 } }),
      headers: { "content-type": "application/merge-patch+json", "if-match": config.headers.etag ?? "" },
    });
    expect(patched.status).toBe(200);
    expect((patched.body.code as { length: number }).length).toBe(8);
  });

  it("passes the query string through: audit paging follows the cursor", async () => {
    const created = await h.http("POST", "/console/api/admin/apps", { auth: null, body: { name: "Paged" } });
    const appId = String(created.body.appId);
    for (let n = 0; n < 3; n++) {
      const key = await h.http("POST", `/console/api/admin/apps/${appId}/api-keys`, { auth: null });
      expect(key.status).toBe(201);
    }
    const first = await h.http("GET", `/console/api/admin/apps/${appId}/audit?limit=2`, { auth: null });
    expect(first.status).toBe(200);
    expect(first.body.events).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await h.http(
      "GET",
      `/console/api/admin/apps/${appId}/audit?limit=2&cursor=${encodeURIComponent(String(first.body.nextCursor))}`,
      { auth: null },
    );
    expect(second.status).toBe(200);
    expect(second.body.events).not.toEqual(first.body.events);
    const bad = await h.http("GET", `/console/api/admin/apps/${appId}/audit?limit=500`, { auth: null });
    expect(bad.status).toBe(400);
  });

  it("refuses other origins (403) and anything but an admin route (404)", async () => {
    const foreign = await h.http("POST", "/console/api/admin/apps", {
      auth: null,
      body: { name: "Evil" },
      headers: { origin: "http://evil.example" },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe("forbidden");
    const own = await h.http("GET", "/console/api/admin/apps", {
      auth: null,
      headers: { origin: new URL(h.stack.url).origin },
    });
    expect(own.status).toBe(200);

    const crossSite = await h.http("GET", "/console/api/admin/apps", {
      auth: null,
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    // DNS rebinding: another name for the loopback address, with a matching origin.
    const { port } = new URL(h.stack.url);
    const rebound = await rawGet(Number(port), "/console/api/admin/apps", {
      host: `evil.example:${port}`,
      origin: `http://evil.example:${port}`,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain("default");

    for (const path of [
      "/console/api/users/alice/factors",
      "/console/api/challenges",
      "/console/api/healthz",
    ]) {
      const refused = await h.http("GET", path, { auth: null });
      expect(refused.status, path).toBe(404);
    }
    // The browser's own authorization header is not what the admin route sees: the proxy sets it.
    const withClientKey = await h.http("GET", "/console/api/admin/secrets", { auth: "client" });
    expect(withClientKey.status).toBe(200);
  });

  it("has a proxy route for every admin route, and for nothing else", () => {
    const admin = routes
      .filter((r) => r.auth === "admin")
      .map((r) => `${r.method} ${r.path.slice("/v1/".length)}`);
    const proxied = routes
      .filter((r) => r.path.startsWith("/console/api/"))
      .map((r) => `${r.method} ${r.path.slice("/console/api/".length)}`);
    expect(proxied.sort()).toEqual(admin.sort());
  });
});

describe("the settings form's layout", () => {
  it("has a labelled field for every field of an app's config (the grid, default number and templates apart)", async () => {
    const fields = new URL("../../lib/console/settings-fields.js", import.meta.url).href;
    const { GROUPS } = (await import(fields)) as { GROUPS: { fields: { path: string; label: string }[] }[] };
    const covered = GROUPS.flatMap((g) => g.fields);
    for (const f of covered) expect(f.label.length, f.path).toBeGreaterThan(3);
    // Special parts built by settings.js: the sender grid, the default number, templates per locale.
    const special = ["sms.senders", "sms.defaultSender", "templates"];
    const config = (await h.call("GET", "/v1/admin/apps/default/config", { auth: "admin" })).body;
    const leaves = (value: unknown, prefix: string): string[] =>
      value !== null && typeof value === "object" && !Array.isArray(value) && !prefix.endsWith("overrides")
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    const paths = leaves(config, "").filter((p) => p !== "version" && !special.some((s) => p.startsWith(s)));
    // The optional fields a stored config may omit are in the form too.
    expect(paths.length).toBeGreaterThan(40);
    expect(covered.map((f) => f.path).sort()).toEqual(
      [...new Set([...paths, "totp.issuer", "email.fromName", "webauthn.rpName"])].sort(),
    );
  });
});
