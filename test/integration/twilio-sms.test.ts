import { spawn } from "node:child_process";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { twilioSecretSchema } from "#adapters/providers/twilio/secret";
import { TwilioSms } from "#adapters/providers/twilio/twilio-sms";
import { type AppConfig, type AppConfigInput, appConfigSchema } from "#core/config";
import { ProviderError } from "#core/errors";
import { type FakeTwilio, startFakeTwilio, type TwilioFault, twilioSid } from "../support/fake-twilio.ts";
import { StaticSecrets } from "../support/static-secrets.ts";

const MAIN = { sid: twilioSid("AC"), token: "main-token-0123456789abcdef0123456" };
const SUB_NANP = { sid: twilioSid("AC"), token: "nanp-token-0123456789abcdef012345" };
const SUB_DO = { sid: twilioSid("AC"), token: "do-token-0123456789abcdef01234567" };
const SUB_IN = { sid: twilioSid("AC"), token: "in-token-0123456789abcdef01234567" };
const SERVICE = twilioSid("MG");
const TIMEOUT_MS = 300;

const mainSecret = (token = MAIN.token) => ({ accountSid: MAIN.sid, authToken: token });

/** This file's app: a sender for the US and Canada, and a default sender, as an admin sets them (a new app has none). */
const config = (sms: AppConfigInput["sms"] = {}): AppConfig =>
  appConfigSchema.parse({
    sms: {
      senders: [{ number: "+14155550100", countries: ["US", "CA"] }],
      defaultSender: "+14155550100",
      ...sms,
    },
  });

let fake: FakeTwilio;
let secrets: StaticSecrets;
let adapter: TwilioSms;

beforeAll(async () => {
  fake = await startFakeTwilio([
    MAIN,
    { ...SUB_NANP, parentSid: MAIN.sid },
    { ...SUB_DO, parentSid: MAIN.sid },
    { ...SUB_IN, parentSid: MAIN.sid },
  ]);
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.reset();
  fake.setToken(MAIN.sid, MAIN.token);
  secrets = new StaticSecrets({ twilio: mainSecret() });
  adapter = new TwilioSms({ secrets, apiBaseUrl: fake.url, timeoutMs: TIMEOUT_MS });
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

describe("sender choice", () => {
  const withSubaccounts = () => ({
    ...mainSecret(),
    subaccounts: [
      { dialingCode: "+1", accountSid: SUB_NANP.sid, authToken: SUB_NANP.token, senderPhone: "+14155550111" },
      { dialingCode: "+1809", accountSid: SUB_DO.sid, authToken: SUB_DO.token, senderPhone: "+18095550199" },
      { dialingCode: "+91", accountSid: SUB_IN.sid, authToken: SUB_IN.token, senderPhone: "+919000000001" },
    ],
  });

  it("uses the subaccount whose dialing code prefixes the destination, under its SID and credentials", async () => {
    await secrets.putProviderSecret("twilio", withSubaccounts());
    const delivery = await adapter.sendSms(
      { to: "+919876543210", body: "Your code is 123456" },
      config({ messagingServiceSid: SERVICE }),
    );
    expect(delivery.provider).toBe("twilio");
    expect(delivery.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(fake.messages).toEqual([
      {
        sid: delivery.providerMessageId,
        accountSid: SUB_IN.sid,
        authUser: SUB_IN.sid,
        to: "+919876543210",
        from: "+919000000001",
        messagingServiceSid: null,
        body: "Your code is 123456",
        status: "queued",
      },
    ]);
    expect(fake.requests[0]?.path).toBe(`/2010-04-01/Accounts/${SUB_IN.sid}/Messages.json`);
    expect(fake.requests[0]?.contentType).toBe("application/x-www-form-urlencoded");
    expect(Object.keys(fake.requests[0]?.params ?? {}).sort()).toEqual(["Body", "From", "To"]);
  });

  it("takes the longest matching dialing code", async () => {
    await secrets.putProviderSecret("twilio", withSubaccounts());
    await adapter.sendSms({ to: "+18095550123", body: "a" }, config());
    await adapter.sendSms({ to: "+14155550123", body: "b" }, config());
    expect(fake.messages.map((m) => [m.accountSid, m.authUser, m.from])).toEqual([
      [SUB_DO.sid, SUB_DO.sid, "+18095550199"],
      [SUB_NANP.sid, SUB_NANP.sid, "+14155550111"],
    ]);
  });

  it("otherwise uses the messaging service, without From", async () => {
    await secrets.putProviderSecret("twilio", withSubaccounts());
    await adapter.sendSms({ to: "+33612345678", body: "hi" }, config({ messagingServiceSid: SERVICE }));
    expect(fake.messages[0]).toMatchObject({
      accountSid: MAIN.sid,
      authUser: MAIN.sid,
      from: null,
      messagingServiceSid: SERVICE,
      status: "accepted",
    });
    expect(fake.requests[0]?.params.From).toBeUndefined();
  });

  it("otherwise uses the first sender listing the destination's country", async () => {
    const sms = {
      senders: [
        { number: "+5511900000000", countries: ["BR"] },
        { number: "+14155550100", countries: ["US", "CA"] },
        { number: "+14155550999", countries: ["CA"] },
      ],
      defaultSender: "+442071838750",
    };
    await adapter.sendSms({ to: "+5511987654321", body: "a" }, config(sms));
    await adapter.sendSms({ to: "+16045551234", body: "b" }, config(sms));
    expect(fake.messages.map((m) => [m.to, m.from, m.messagingServiceSid, m.accountSid])).toEqual([
      ["+5511987654321", "+5511900000000", null, MAIN.sid],
      ["+16045551234", "+14155550100", null, MAIN.sid],
    ]);
  });

  it("otherwise uses the default sender", async () => {
    await adapter.sendSms(
      { to: "+33612345678", body: "a" },
      config({ senders: [{ number: "+14155550100", countries: ["US"] }], defaultSender: "+14155550177" }),
    );
    expect(fake.messages[0]).toMatchObject({ from: "+14155550177", messagingServiceSid: null });
  });

  it("with no sender at all it is not configured, and nothing is sent", async () => {
    const error = await failure(
      adapter.sendSms({ to: "+33612345678", body: "a" }, config({ senders: [], defaultSender: null })),
    );
    expect(error).toMatchObject({
      provider: "twilio",
      providerCode: "not_configured",
      kind: "not_configured",
    });
    expect(fake.requests).toHaveLength(0);
  });

  it("a missing or invalid secret is not configured", async () => {
    secrets.delete("twilio");
    const missing = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(missing).toMatchObject({ providerCode: "not_configured", kind: "not_configured" });
    await secrets.putProviderSecret("twilio", { accountSid: "not-a-sid", authToken: "x" });
    const invalid = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(invalid).toMatchObject({ providerCode: "not_configured", kind: "not_configured" });
    expect(invalid.message).not.toContain("not-a-sid");
    await secrets.putProviderSecret("other", mainSecret());
    // the config names the secret; the adapter reads that one
    await adapter.sendSms({ to: "+14155550123", body: "a" }, config({ secretName: "other" }));
    expect(fake.messages).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("one secret schema: the admin route's is the adapter's", () => {
  const sub = {
    dialingCode: "+91",
    accountSid: SUB_IN.sid,
    authToken: SUB_IN.token,
    senderPhone: "+919000000001",
  };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["a token shorter than 16", mainSecret("short-token"), "authToken"],
    [
      "a 5-digit dialing code",
      { ...mainSecret(), subaccounts: [{ ...sub, dialingCode: "+18091" }] },
      "subaccounts.0.dialingCode",
    ],
    [
      "a subaccount token shorter than 16",
      { ...mainSecret(), subaccounts: [{ ...sub, authToken: "x" }] },
      "subaccounts.0.authToken",
    ],
    ["an unknown field", { ...mainSecret(), authtoken: MAIN.token }, "authtoken"],
  ];
  it.each(cases)("%s is refused by both, naming the field, never the value", async (_, secret, path) => {
    const admin = twilioSecretSchema.safeParse(secret);
    expect(admin.success).toBe(false);
    expect(admin.error?.issues.map((i) => [...i.path, ...("keys" in i ? i.keys : [])].join("."))).toContain(
      path,
    );
    await secrets.putProviderSecret("twilio", secret);
    const error = await failure(adapter.sendSms({ to: "+919876543210", body: "a" }, config()));
    expect(error).toMatchObject({
      provider: "twilio",
      providerCode: "not_configured",
      kind: "not_configured",
    });
    expect(error.message).toContain(path);
    for (const value of ["short-token", MAIN.token, SUB_IN.token, "+18091"])
      expect(error.message).not.toContain(value);
    expect(fake.requests).toHaveLength(0);
  });

  it("what the admin route accepts, the adapter sends with (a 4-digit dialing code included)", async () => {
    const secret = { ...mainSecret(), subaccounts: [{ ...sub, dialingCode: "+1809" }] };
    expect(twilioSecretSchema.safeParse(secret).success).toBe(true);
    await secrets.putProviderSecret("twilio", secret);
    await adapter.sendSms({ to: "+18095550123", body: "a" }, config());
    expect(fake.messages[0]).toMatchObject({ accountSid: SUB_IN.sid, from: "+919000000001" });
  });
});

describe("errors", () => {
  const cases: Array<[TwilioFault, string, ProviderError["kind"]]> = [
    [20429, "20429", "unavailable"],
    [21211, "21211", "rejected"],
    [21408, "21408", "rejected"],
    [21608, "21608", "rejected"],
    [21610, "21610", "rejected"],
    [21614, "21614", "rejected"],
    [500, "20500", "unavailable"],
    ["500-html", "http_500", "unavailable"],
  ];
  it.each(cases)("Twilio %s is %s/%s", async (fault, code, kind) => {
    fake.failNext(1, fault);
    const error = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(error).toMatchObject({ provider: "twilio", providerCode: code, kind });
    expect(fake.requests).toHaveLength(1);
    expect(secrets.refreshes).toEqual([]);
  });

  it("keeps Twilio's message, per destination", async () => {
    fake.failFor("+14155550124", 21211);
    await adapter.sendSms({ to: "+14155550123", body: "a" }, config());
    const error = await failure(adapter.sendSms({ to: "+14155550124", body: "a" }, config()));
    expect(error.message).toBe("The 'To' number +14155550124 is not a valid phone number.");
    expect(fake.messages.map((m) => m.to)).toEqual(["+14155550123"]);
  });

  it("20003 is auth; with an unchanged secret it refreshes once and does not retry", async () => {
    fake.failNext(1, 20003);
    const error = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(error).toMatchObject({ providerCode: "20003", kind: "auth", message: "Authenticate" });
    expect(secrets.refreshes).toEqual(["twilio"]);
    expect(fake.requests).toHaveLength(1);
  });

  it("a hang is abandoned after timeoutMs", async () => {
    fake.hangNext(1);
    const started = Date.now();
    const error = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ providerCode: "timeout", kind: "timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it("an unreachable API is unavailable", async () => {
    const closed = await startFakeTwilio([MAIN]);
    await closed.stop();
    const offline = new TwilioSms({ secrets, apiBaseUrl: closed.url, timeoutMs: TIMEOUT_MS });
    const error = await failure(offline.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(error).toMatchObject({ providerCode: "network", kind: "unavailable" });
  });

  it("never puts credentials in the error", async () => {
    fake.setToken(MAIN.sid, "another-token");
    const error = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(error.kind).toBe("auth");
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(
      MAIN.token,
    );
  });
});

describe("credential rotation", () => {
  it("after 20003 it re-reads the rotated token and succeeds on the one retry", async () => {
    await adapter.sendSms({ to: "+14155550123", body: "warm" }, config()); // caches the old token
    fake.setToken(MAIN.sid, "rotated-token-abcdef");
    secrets.rotate("twilio", mainSecret("rotated-token-abcdef"));
    fake.reset();

    const delivery = await adapter.sendSms({ to: "+14155550123", body: "after rotation" }, config());
    expect(delivery.providerMessageId).toMatch(/^SM/);
    expect(secrets.refreshes).toEqual(["twilio"]);
    expect(fake.requests.map((r) => [r.status, r.code])).toEqual([
      [401, 20003],
      [201, undefined],
    ]);
    expect(fake.messages.map((m) => m.body)).toEqual(["after rotation"]);
  });

  it("rotates a subaccount's token the same way", async () => {
    const secret = (token: string) => ({
      ...mainSecret(),
      subaccounts: [
        { dialingCode: "+91", accountSid: SUB_IN.sid, authToken: token, senderPhone: "+919000000001" },
      ],
    });
    await secrets.putProviderSecret("twilio", secret(SUB_IN.token));
    await secrets.providerSecret("twilio");
    fake.setToken(SUB_IN.sid, "in-rotated-0123456789abcdef");
    secrets.rotate("twilio", secret("in-rotated-0123456789abcdef"));
    try {
      await adapter.sendSms({ to: "+919876543210", body: "x" }, config());
      expect(fake.requests.map((r) => [r.authUser, r.status])).toEqual([
        [SUB_IN.sid, 401],
        [SUB_IN.sid, 201],
      ]);
    } finally {
      fake.setToken(SUB_IN.sid, SUB_IN.token);
    }
  });

  it("never makes more than two attempts", async () => {
    await secrets.providerSecret("twilio");
    fake.setToken(MAIN.sid, "the-real-one-0123456789abcdef");
    secrets.rotate("twilio", mainSecret("still-wrong-0123456789abcdef"));
    const error = await failure(adapter.sendSms({ to: "+14155550123", body: "a" }, config()));
    expect(error).toMatchObject({ kind: "auth", providerCode: "20003" });
    expect(fake.requests).toHaveLength(2);
    expect(secrets.refreshes).toEqual(["twilio"]);
  });
});

describe("lazy loading", () => {
  it("twilio is not loaded by importing the adapter, only by the first send", async () => {
    const script = `
      import { createRequire } from "node:module";
      const require = createRequire(process.cwd() + "/");
      const loaded = () => Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/]twilio[\\\\/]/.test(k)).length;
      const { TwilioSms } = await import("#adapters/providers/twilio/twilio-sms");
      const { appConfigSchema } = await import("#core/config");
      const adapter = new TwilioSms({
        secrets: { providerSecret: async () => JSON.parse(process.env.SECRET), refreshProviderSecret() {} },
        apiBaseUrl: process.env.API_URL,
        timeoutMs: 2000,
      });
      const before = loaded();
      const delivery = await adapter.sendSms({ to: "+14155550123", body: "lazy" }, appConfigSchema.parse({ sms: { defaultSender: "+14155550100" } }));
      console.log(JSON.stringify({ before, after: loaded(), sid: delivery.providerMessageId }));
    `;
    const output = await runNode(["--import", "tsx", "--input-type=module", "-e", script], {
      API_URL: fake.url,
      SECRET: JSON.stringify(mainSecret()),
    });
    const result = JSON.parse(output.trim().split("\n").at(-1) ?? "{}");
    expect(result.before).toBe(0);
    expect(result.after).toBeGreaterThan(0);
    expect(fake.messages.map((m) => m.sid)).toEqual([result.sid]);
  });
});

function runNode(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: process.cwd(),
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`node exited ${code}: ${err}\n${out}`)),
    );
  });
}
