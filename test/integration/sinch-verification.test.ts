import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSinchVerification } from "#adapters/providers/sinch/provider";
import {
  SinchVerification,
  signSinchRequest,
  sinchExpiry,
} from "#adapters/providers/sinch/sinch-verification";
import { type AppConfig, parseAppConfig } from "#core/config";
import { ProviderError } from "#core/errors";
import { type FakeSinch, type SinchFault, startFakeSinch } from "../support/fake-sinch.ts";
import { StaticSecrets } from "../support/static-secrets.ts";

const KEY = "5f0c2d0e-4c4b-4d7e-9a39-1c1b8a3b2f11";
const SECRET = Buffer.from("application-secret-one").toString("base64");
const ROTATED = Buffer.from("application-secret-two").toString("base64");
const TIMEOUT_MS = 300;
const TO = "+46701234567";

let fake: FakeSinch;
let secrets: StaticSecrets;
let adapter: SinchVerification;

/** The fake listens on 127.0.0.1, which only the local stack's rules allow. */
const config = (authMethod: "basic" | "signed" = "basic", endpointUrl = fake.url): AppConfig => {
  const parsed = parseAppConfig(
    { sms: { provider: "sinch", sinch: { endpointUrl, authMethod } } },
    { allowLoopbackProviderUrls: true },
  );
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.errors)}`);
  return parsed.config;
};

const start = (cfg: AppConfig, to = TO) =>
  adapter.start({ to, locale: "sv-SE", expirySeconds: 300, reference: "challenge-1" }, cfg);

beforeAll(async () => {
  fake = await startFakeSinch([{ key: KEY, secret: SECRET }]);
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.reset();
  fake.setSecret(KEY, SECRET);
  secrets = new StaticSecrets({ "sinch-verification-api": { authenticationId: KEY, secret: SECRET } });
  // The fake listens on http://127.0.0.1: only the local stack and tests allow that.
  adapter = new SinchVerification({ secrets, timeoutMs: TIMEOUT_MS, allowLoopbackHttp: true });
});

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error("expected a ProviderError");
}

describe("signed-request signature (PROVIDERS.md vectors)", () => {
  const common = {
    secret: Buffer.from("my-key-secret").toString("base64"),
    timestamp: "2023-11-22T09:10:11.999Z",
    path: "/path/pathParamValue",
  };

  it("POST with a JSON body", () => {
    expect(
      signSinchRequest({
        ...common,
        method: "POST",
        contentType: "application/json; charset=UTF-8",
        body: '{"identity":{"type":"number","endpoint":"+33444555666"},"method":"sms"}',
      }),
    ).toBe("QP3OzQZVzRZAEev6DBLvJkgpiqyZPuXYsc7oyjUV0K8=");
  });

  it("GET without a body", () => {
    expect(signSinchRequest({ ...common, method: "GET", contentType: "application/json" })).toBe(
      "nsrLDvP6KVD/dAxb3IfAncdwjPFJVWSrseEFOcZge+A=",
    );
  });

  it("expiry is HH:MM:SS", () => {
    expect([sinchExpiry(300), sinchExpiry(59), sinchExpiry(3725)]).toEqual([
      "00:05:00",
      "00:00:59",
      "01:02:05",
    ]);
  });
});

describe.each(["basic", "signed"] as const)("%s auth", (authMethod) => {
  it("start then report the right code: approved", async () => {
    const started = await start(config(authMethod));
    expect(started.provider).toBe("sinch");
    const verification = fake.verifications[0];
    expect(verification).toMatchObject({
      id: started.verificationId,
      to: TO,
      reference: "challenge-1",
      expiry: "00:05:00",
      locale: "sv-SE",
      status: "PENDING",
    });
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/verification/v1/verifications",
      auth: authMethod,
      key: KEY,
      contentType: "application/json",
      status: 200,
    });
    expect(JSON.parse(fake.requests[0]?.body ?? "")).toEqual({
      identity: { type: "number", endpoint: TO },
      method: "sms",
      reference: "challenge-1",
      smsOptions: { expiry: "00:05:00" },
    });

    const code = fake.codeFor(TO) ?? "";
    expect(await adapter.report(started.verificationId, code, config(authMethod))).toBe("approved");
    expect(fake.requests[1]).toMatchObject({
      method: "PUT",
      path: `/verification/v1/verifications/id/${started.verificationId}`,
      auth: authMethod,
      status: 200,
    });
    expect(JSON.parse(fake.requests[1]?.body ?? "")).toEqual({ method: "sms", sms: { code } });
  });

  it("a wrong code, then the right one, then a second report", async () => {
    const { verificationId } = await start(config(authMethod));
    const code = fake.codeFor(TO) ?? "";
    const wrong = code === "0000" ? "1111" : "0000";
    expect(await adapter.report(verificationId, wrong, config(authMethod))).toBe("wrong_code");
    expect(await adapter.report(verificationId, code, config(authMethod))).toBe("approved");
    expect(await adapter.report(verificationId, code, config(authMethod))).toBe("expired");
    expect(fake.verifications[0]?.reports).toEqual([wrong, code]);
  });
});

describe("the fake checks signatures", () => {
  const post = (headers: Record<string, string>, body = '{"method":"sms"}') =>
    fetch(`${fake.url}/verification/v1/verifications`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { errorCode: number } }));

  it("refuses a wrong signature (40102) and a missing x-timestamp (40101)", async () => {
    const timestamp = new Date().toISOString();
    const signature = signSinchRequest({
      method: "POST",
      path: "/verification/v1/verifications",
      contentType: "application/json",
      body: '{"method":"sms"}',
      timestamp,
      secret: SECRET,
    });
    const tampered = await post(
      { "x-timestamp": timestamp, Authorization: `Application ${KEY}:${signature}` },
      '{"method":"sms" }',
    );
    expect(tampered).toEqual({ status: 401, body: expect.objectContaining({ errorCode: 40102 }) });
    const noTimestamp = await post({ Authorization: `Application ${KEY}:${signature}` });
    expect(noTimestamp).toEqual({ status: 401, body: expect.objectContaining({ errorCode: 40101 }) });
    const ok = await post({ "x-timestamp": timestamp, Authorization: `Application ${KEY}:${signature}` });
    expect(ok.status).toBe(400); // authorised; the body itself is not a valid start request
    expect(ok.body.errorCode).toBe(40001);
  });
});

describe("outcomes and errors", () => {
  it("an expired verification and an unknown id are expired", async () => {
    const { verificationId } = await start(config());
    fake.expire(verificationId);
    expect(await adapter.report(verificationId, fake.codeFor(TO) ?? "", config())).toBe("expired");
    expect(await adapter.report("no-such-id", "1234", config())).toBe("expired");
  });

  it("400 40003 from a report is a wrong code", async () => {
    const { verificationId } = await start(config());
    fake.failNext(1, 40003);
    expect(await adapter.report(verificationId, "1234", config())).toBe("wrong_code");
  });

  it("an invalid number is rejected with 40001", async () => {
    const error = await failure(start(config(), "+4813"));
    expect(error).toMatchObject({ provider: "sinch", providerCode: "40001", kind: "rejected" });
    expect(fake.verifications).toHaveLength(0);
  });

  const cases: Array<[SinchFault, string, ProviderError["kind"]]> = [
    [40001, "40001", "rejected"],
    [40300, "40300", "rejected"],
    [42900, "42900", "unavailable"],
    [50000, "50000", "unavailable"],
    [503, "50300", "unavailable"],
  ];
  it.each(cases)("Sinch %s is %s/%s, for start and report", async (fault, code, kind) => {
    fake.failNext(1, fault);
    expect(await failure(start(config()))).toMatchObject({ providerCode: code, kind });
    const { verificationId } = await start(config());
    fake.failNext(1, fault);
    expect(await failure(adapter.report(verificationId, "1234", config()))).toMatchObject({
      providerCode: code,
      kind,
    });
    expect(secrets.refreshes).toEqual([]);
  });

  it("a hang is a timeout after timeoutMs", async () => {
    fake.hangNext(1);
    const started = Date.now();
    const error = await failure(start(config()));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ providerCode: "timeout", kind: "timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it("an unreachable endpoint is unavailable", async () => {
    const closed = await startFakeSinch([]);
    await closed.stop();
    const error = await failure(start(config("basic", closed.url)));
    expect(error).toMatchObject({ providerCode: "network", kind: "unavailable" });
  });

  it("a missing or incomplete secret is not configured", async () => {
    secrets.delete("sinch-verification-api");
    expect(await failure(start(config()))).toMatchObject({ kind: "not_configured" });
    await secrets.putProviderSecret("sinch-verification-api", { authenticationId: KEY });
    expect(await failure(start(config()))).toMatchObject({ kind: "not_configured" });
    expect(fake.requests).toHaveLength(0);
  });
});

describe("401 and credential rotation", () => {
  it.each(["basic", "signed"] as const)(
    "%s: a rotated secret is re-read and the retry succeeds",
    async (method) => {
      await secrets.providerSecret("sinch-verification-api"); // cached: the old secret
      fake.setSecret(KEY, ROTATED);
      secrets.rotate("sinch-verification-api", { authenticationId: KEY, secret: ROTATED });
      const started = await start(config(method));
      expect(started.verificationId).toBe(fake.verifications[0]?.id);
      expect(secrets.refreshes).toEqual(["sinch-verification-api"]);
      expect(fake.requests.map((r) => [r.status, r.errorCode])).toEqual([
        [401, method === "signed" ? 40102 : 40100],
        [200, undefined],
      ]);
    },
  );

  it("with an unchanged secret it is auth after one refresh and a single request", async () => {
    fake.setSecret(KEY, ROTATED);
    const error = await failure(start(config("signed")));
    expect(error).toMatchObject({ providerCode: "40102", kind: "auth" });
    expect(secrets.refreshes).toEqual(["sinch-verification-api"]);
    expect(fake.requests).toHaveLength(1);
  });

  it("never more than two attempts", async () => {
    fake.failNext(5, 40100);
    secrets.rotate("sinch-verification-api", { authenticationId: KEY, secret: ROTATED });
    await secrets.providerSecret("sinch-verification-api");
    secrets.rotate("sinch-verification-api", { authenticationId: KEY, secret: SECRET });
    const error = await failure(start(config()));
    expect(error).toMatchObject({ providerCode: "40100", kind: "auth" });
    expect(fake.requests).toHaveLength(2);
  });

  it("never puts the secret in the error", async () => {
    fake.setSecret(KEY, ROTATED);
    const error = await failure(start(config()));
    expect(`${error.message} ${error.stack}`).not.toContain(SECRET);
  });
});

describe("credentials go to Sinch and nowhere else (SECURITY rule 37)", () => {
  /** A TCP server that only counts connections: a TLS handshake or an HTTP request would both be one. */
  async function listener(): Promise<{
    port: number;
    connections: () => number;
    close: () => Promise<void>;
  }> {
    let count = 0;
    const server: Server = createServer((socket) => {
      count += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    return {
      port,
      connections: () => count,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  const refused = { provider: "sinch", providerCode: "endpoint_not_allowed", kind: "not_configured" };
  /** The endpoint as stored, past any config validation: the adapter's own guard is what is tested. */
  const pointedAt = (endpointUrl: string, authMethod: "basic" | "signed" = "basic"): AppConfig => {
    const cfg = config(authMethod);
    cfg.sms.sinch.endpointUrl = endpointUrl;
    return cfg;
  };

  it("with a stored secret and an endpoint at a local server that is not Sinch, nothing reaches that server", async () => {
    const other = await listener();
    try {
      // What the cloud functions build: no loopback allowed.
      const cloud = createSinchVerification({ secrets, timeoutMs: TIMEOUT_MS });
      for (const endpointUrl of [
        fake.url,
        `http://127.0.0.1:${other.port}`,
        `https://127.0.0.1:${other.port}`,
      ]) {
        expect(
          await failure(
            cloud.start({ to: TO, expirySeconds: 300, reference: "r" }, pointedAt(endpointUrl, "basic")),
          ),
        ).toMatchObject(refused);
        expect(await failure(cloud.report("v1", "1234", pointedAt(endpointUrl, "signed")))).toMatchObject(
          refused,
        );
      }
      // Even where loopback is allowed, only plain http to 127.0.0.1 is.
      for (const endpointUrl of [
        `https://127.0.0.1:${other.port}`,
        `http://localhost:${other.port}`,
        `https://localhost:${other.port}`,
        "http://127.0.0.1",
      ]) {
        expect(await failure(start(pointedAt(endpointUrl, "basic")))).toMatchObject(refused);
      }
      expect(fake.requests).toHaveLength(0);
      expect(other.connections()).toBe(0);
      // The secret was not even read.
      expect(secrets.reads).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("only https hosts under sinch.com are sent to; the error does not echo the URL", async () => {
    const urls: string[] = [];
    const recordingFetch: typeof fetch = async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ id: "v-1" }), { status: 200 });
    };
    const cloud = new SinchVerification({ secrets, fetch: recordingFetch });
    for (const endpointUrl of [
      "https://verification.api.sinch.com.attacker.example",
      "https://attacker-sinch.com",
      "https://sinch.com.attacker.example/verification.api.sinch.com",
      "https://verification.api.sinch.com@attacker.example",
      "http://verification.api.sinch.com",
      "https://attacker.example/?h=.sinch.com",
    ]) {
      const error = await failure(
        cloud.start({ to: TO, expirySeconds: 300, reference: "r" }, pointedAt(endpointUrl, "basic")),
      );
      expect(error, endpointUrl).toMatchObject(refused);
      expect(error.message).not.toContain("attacker");
    }
    expect(urls).toEqual([]);
    for (const endpointUrl of [
      "https://verification.api.sinch.com",
      "https://dc-euc1-std.verification.api.sinch.com/",
    ]) {
      await cloud.start({ to: TO, expirySeconds: 300, reference: "r" }, pointedAt(endpointUrl, "basic"));
    }
    expect(urls).toEqual([
      "https://verification.api.sinch.com/verification/v1/verifications",
      "https://dc-euc1-std.verification.api.sinch.com/verification/v1/verifications",
    ]);
  });
});
