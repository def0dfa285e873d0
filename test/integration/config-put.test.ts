import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppConfig } from "#core/config";
import { cloudDeps } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";
import { createHandler } from "#http/handler";
import { buildEvent } from "#lib/local-server";
import { adminRoutes } from "../../functions/admin-config.ts";
import { type FakeSinch, startFakeSinch } from "../support/fake-sinch.ts";
import { type Harness, putConfig, type Reply, startHarness } from "../support/harness.ts";

type Doc = Record<string, Record<string, unknown>>;

const CONFIG = "/v1/admin/apps/default/config";
const SINCH = { key: "app-key-config", secret: Buffer.from("sinch-config-secret").toString("base64") };
const PHONE = "+14155550123";

let h: Harness;
let sinch: FakeSinch;

/** Stands in for an attacker's host: whatever reaches it is a leaked request (and credential). */
const attacker = {
  url: "",
  connections: 0,
  requests: [] as { method?: string; url?: string; authorization?: string }[],
  close: async () => {},
};
/** Every URL outside 127.0.0.1 the service tried to fetch; each was sent to the attacker instead. */
const outbound: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  const server = createServer((req: IncomingMessage, res) => {
    attacker.requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" }).end('{"id":"stolen"}');
  });
  server.on("connection", () => {
    attacker.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  attacker.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  attacker.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  // No test may reach the internet, and a request to any other host must land somewhere we can see.
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname === "127.0.0.1") return realFetch(input, init);
    outbound.push(url.href);
    return realFetch(`${attacker.url}${url.pathname}${url.search}`, init);
  }) as typeof fetch;

  sinch = await startFakeSinch([SINCH]);
  h = await startHarness();
  const secret = await h.call("PUT", "/v1/admin/secrets/sinch-verification-api", {
    auth: "admin",
    body: { authenticationId: SINCH.key, secret: SINCH.secret },
  });
  expect(secret.status).toBe(204);
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await h?.stop();
  await sinch?.stop();
  await attacker.close();
});

const getConfig = () => h.call("GET", CONFIG, { auth: "admin" });
const put = (body: unknown, etag: string | undefined) =>
  h.call("PUT", CONFIG, { auth: "admin", body, headers: { "if-match": etag ?? "" } });
const paths = (reply: Reply) => (reply.body.errors as { path: string }[]).map((e) => e.path).sort();

/** Dotted paths of every value of a document (arrays and empty objects are values). */
const leafPaths = (value: unknown, path: string[] = []): string[] =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0
    ? Object.entries(value).flatMap(([key, inner]) => leafPaths(inner, [...path, key]))
    : [path.join(".")];

/** The stored config as GET returns it, with `change` applied to a copy. */
async function edited(change: (doc: Doc) => void): Promise<{ body: Doc; etag: string | undefined }> {
  const current = await getConfig();
  const body = structuredClone(current.body) as Doc;
  change(body);
  return { body, etag: current.headers.etag };
}

const withEndpoint = (url: string) =>
  edited((doc) => {
    doc.sms = { ...doc.sms, provider: "sinch" };
    (doc.sms as Doc).sinch = { ...(doc.sms as Doc).sinch, endpointUrl: url };
  });

describe("PUT config replaces the whole document", () => {
  it("stores a full document (GET, edit, PUT) and answers it with the next ETag", async () => {
    const { body, etag } = await edited((doc) => {
      doc.mfa = { ...doc.mfa, required: true };
      doc.code = { ...doc.code, length: 8 };
    });
    expect(etag).toBe('"1"');
    const saved = await put(body, etag);
    expect(saved.status).toBe(200);
    expect(saved.headers.etag).toBe('"2"');
    expect(saved.body).toEqual({ ...body, version: 2 });
    const read = await getConfig();
    expect(read.headers.etag).toBe('"2"');
    expect(read.body).toEqual(saved.body);
  });

  it("refuses a partial body with 400 invalid_config naming every missing path, and keeps the stored config", async () => {
    const before = await getConfig();
    const partial = await put({ code: { length: 7 } }, before.headers.etag);
    expect(partial.status).toBe(400);
    expect(partial.headers["content-type"]).toBe("application/problem+json");
    expect(partial.body.code).toBe("invalid_config");
    const errors = partial.body.errors as { path: string; message: string }[];
    expect(errors.every((e) => e.message === "required")).toBe(true);
    const expected = leafPaths(before.body).filter((p) => p !== "version" && p !== "code.length");
    expect(paths(partial)).toEqual(expected.sort());
    expect(paths(partial)).toEqual(
      expect.arrayContaining([
        "limits.lockoutSeconds",
        "mfa.required",
        "sms.messagingServiceSid",
        "email.configurationSet",
        "totp.issuer",
        "templates.en.emailHtml",
      ]),
    );

    const after = await getConfig();
    expect(after.headers.etag).toBe(before.headers.etag);
    expect(after.body).toEqual(before.body);
    expect(after.body).toMatchObject({ mfa: { required: true }, code: { length: 8 } });
  });

  it("names a single missing nested field, nullable ones included, and never fills in a default", async () => {
    const { body, etag } = await edited((doc) => {
      delete doc.limits?.lockoutSeconds;
      delete doc.sms?.messagingServiceSid;
      delete doc.email?.configurationSet;
      delete doc.totp?.issuer;
      const templates = doc.templates as Record<string, Record<string, unknown>>;
      delete templates.en?.emailHtml;
    });
    const refused = await put(body, etag);
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual(
      expect.arrayContaining(
        [
          "limits.lockoutSeconds",
          "sms.messagingServiceSid",
          "email.configurationSet",
          "totp.issuer",
          "templates.en.emailHtml",
        ].map((path) => ({ path, message: "required" })),
      ),
    );
    expect(paths(refused)).toHaveLength(5);
    expect((await getConfig()).headers.etag).toBe(etag);
  });

  it("lists missing fields and bad values together", async () => {
    const current = await getConfig();
    const refused = await put(
      {
        ...current.body,
        code: { length: 11 },
        limits: { ...(current.body.limits as object), lockoutSeconds: 0 },
      },
      current.headers.etag,
    );
    expect(refused.status).toBe(400);
    expect(paths(refused)).toEqual(["code.length", "code.ttlSeconds", "limits.lockoutSeconds"]);
    expect(refused.body.errors).toContainEqual({ path: "code.ttlSeconds", message: "required" });
  });

  it("still answers 428 without If-Match and 412 for a stale version, before looking at the body", async () => {
    const current = await getConfig();
    expect((await put({}, undefined)).status).toBe(428);
    const stale = await put(current.body, '"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe("version_conflict");
  });
});

describe("sms.sinch.endpointUrl only reaches Sinch (SECURITY rule 37)", () => {
  const testMessage = () =>
    h.call("POST", "/v1/admin/apps/default/test-message", {
      auth: "admin",
      body: { channel: "sms", to: PHONE },
    });

  beforeAll(async () => {
    // The local stack's own rules accept the fake Sinch on 127.0.0.1.
    await putConfig(h, "default", (doc) => {
      const sms = doc.sms as Record<string, unknown>;
      sms.provider = "sinch";
      sms.sinch = { ...(sms.sinch as object), endpointUrl: sinch.url };
    });
  });

  it.each([
    "https://attacker.example",
    "http://evil.sinch.com",
    "https://sinch.com.evil.net",
    "https://evilsinch.com",
    "https://user@evil.com",
    "https://user@verification.api.sinch.com",
    "http://localhost:<attacker port>",
    "https://127.0.0.1:<attacker port>",
  ])(
    "refuses %s with 400 invalid_config, and the test message still goes to Sinch only",
    async (template) => {
      const url = template.replace("<attacker port>", new URL(attacker.url).port);
      const { body, etag } = await withEndpoint(url);
      const refused = await put(body, etag);
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe("invalid_config");
      expect(refused.body.errors).toEqual([{ path: "sms.sinch.endpointUrl", message: expect.any(String) }]);
      expect((await getConfig()).headers.etag).toBe(etag);

      const sinchRequests = sinch.requests.length;
      const sent = await testMessage();
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ delivered: true, provider: "sinch" });
      expect(sinch.requests.length).toBe(sinchRequests + 1);
      expect(attacker.connections).toBe(0);
      expect(attacker.requests).toEqual([]);
      expect(outbound).toEqual([]);
    },
  );

  it.each([
    "https://verification.api.sinch.com",
    "https://eu.verification.api.sinch.com:443",
    "http://127.0.0.1:1234",
  ])("accepts %s on the local stack", async (url) => {
    const { body, etag } = await withEndpoint(url);
    const saved = await put(body, etag);
    expect(saved.status).toBe(200);
    expect((saved.body.sms as Doc).sinch?.endpointUrl).toBe(url);
    // Back to the fake before anything could send.
    const restored = await withEndpoint(sinch.url);
    expect((await put(restored.body, restored.etag)).status).toBe(200);
  });

  it("a stored config pointing elsewhere is refused by the loader (503), nothing is sent; GET shows it, PATCH or a full PUT repairs it", async () => {
    const current = await getConfig();
    const version = Number(current.body.version);
    const bad = structuredClone(current.body) as Doc;
    (bad.sms as Doc).sinch = { ...(bad.sms as Doc).sinch, endpointUrl: "https://attacker.example" };
    // Written straight to the table, as a config saved under older rules would be.
    expect(await h.stack.deps.store.putConfig("default", bad as unknown as AppConfig, version)).toBe("ok");

    const sinchRequests = sinch.requests.length;
    const sent = await testMessage();
    expect(sent.status).toBe(503);
    expect(sent.body.code).toBe("unavailable");
    // Retrying does not help until an admin repairs it: no Retry-After.
    expect(sent.headers["retry-after"]).toBeUndefined();
    // The admin sees the document as stored, bad value included, to repair it.
    const shown = await getConfig();
    expect(shown.status).toBe(200);
    expect(((shown.body.sms as Doc).sinch as Doc).endpointUrl).toBe("https://attacker.example");
    const challenge = await h.call("POST", "/v1/challenges", { body: { userId: "nobody", channel: "sms" } });
    expect(challenge.status).toBe(503);
    expect(sinch.requests.length).toBe(sinchRequests);
    expect(attacker.connections).toBe(0);
    expect(outbound).toEqual([]);

    // A patch that leaves the bad value is refused with its path; one that corrects it repairs.
    const patchWith = (body: unknown) =>
      h.call("PATCH", CONFIG, {
        auth: "admin",
        body,
        headers: { "content-type": "application/merge-patch+json", "if-match": String(shown.headers.etag) },
      });
    const stillBad = await patchWith({ code: { length: 7 } });
    expect(stillBad.status).toBe(400);
    expect((stillBad.body.errors as { path: string }[]).map((e) => e.path)).toEqual([
      "sms.sinch.endpointUrl",
    ]);
    const patched = await patchWith({
      sms: { sinch: { endpointUrl: (current.body.sms as Doc).sinch?.endpointUrl } },
    });
    expect(patched.status).toBe(200);
    expect((await testMessage()).status).toBe(200);

    // So does a full PUT, even over a bad stored document.
    expect(await h.stack.deps.store.putConfig("default", bad as unknown as AppConfig, version + 2)).toBe(
      "ok",
    );
    expect((await testMessage()).status).toBe(503);
    const repaired = await put(current.body, "*");
    expect(repaired.status).toBe(200);
    expect(repaired.headers.etag).toBe(`"${version + 4}"`);
    expect((await testMessage()).status).toBe(200);
    expect(attacker.connections).toBe(0);
  });

  it("the cloud's rules (no loopback) refuse 127.0.0.1 on write and on load", async () => {
    // The same handler and store, wired as the cloud functions are: without config rules.
    const { configRules: _, ...cloudRules } = h.stack.deps;
    const cloudAdmin = createHandler("admin-config", adminRoutes, async () => cloudRules);
    const call = async (method: string, path: string, body?: unknown, ifMatch?: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${h.stack.credentials.adminToken}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (ifMatch) headers["if-match"] = ifMatch;
      const event = buildEvent({
        method,
        path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const result = (await cloudAdmin(event, {
        awsRequestId: "cloud",
      } as Context)) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode, body: JSON.parse(result.body ?? "{}") as Record<string, unknown> };
    };

    // The stored endpoint is the fake on 127.0.0.1: the cloud's loader will not use it.
    const sinchRequests = sinch.requests.length;
    // The admin still sees the document as stored, to repair it; nothing uses it.
    const shown = await call("GET", CONFIG);
    expect(shown.status).toBe(200);
    expect(((shown.body.sms as Doc).sinch as Doc).endpointUrl).toBe(sinch.url);
    expect(
      (await call("POST", "/v1/admin/apps/default/test-message", { channel: "sms", to: PHONE })).status,
    ).toBe(503);
    expect(sinch.requests.length).toBe(sinchRequests);

    const { body } = await withEndpoint(attacker.url);
    const refused = await call("PUT", CONFIG, body, "*");
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: "sms.sinch.endpointUrl", message: expect.any(String) }]);
    const fixed = await withEndpoint("https://verification.api.sinch.com");
    expect((await call("PUT", CONFIG, fixed.body, "*")).status).toBe(200);
    expect((await call("GET", CONFIG)).status).toBe(200);
    expect(attacker.connections).toBe(0);
    expect(outbound).toEqual([]);
  });

  it("the cloud functions are wired without config rules, so loopback is never allowed there", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      OTP_TABLE_NAME: "otp",
      OTP_SERVICE_SECRET_ID: "otp/service",
      AWS_REGION: "us-east-1",
    });
    try {
      const deps = await cloudDeps(allProviders, { appCacheMs: 0 });
      expect(deps.configRules?.allowLoopbackProviderUrls).not.toBe(true);
    } finally {
      process.env = saved;
    }
  });
});
