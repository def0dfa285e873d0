import { describe, expect, it } from "vitest";
import { readProviderSecret, withRotatingSecret } from "#adapters/providers/secret";
import { providerSecretSchemas } from "#adapters/providers/secret-schemas";
import { sinchSecret } from "#adapters/providers/sinch/secret";
import { twilioSecret } from "#adapters/providers/twilio/secret";
import { ProviderError } from "#core/errors";
import { StaticSecrets } from "../support/static-secrets.ts";

const NAME = "sinch-verification-api";
const OLD = { authenticationId: "app-key", secret: "b2xkLXNlY3JldA==" };
const NEW = { authenticationId: "app-key", secret: "bmV3LXNlY3JldA==" };
const authFailed = () => new ProviderError("sinch", "40100", "Invalid authorization header.", "auth");

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** A provider call that fails with `auth` for every secret but `accepted`, and records what it was given. */
function providerAccepting(accepted: string) {
  const calls: string[] = [];
  const call = async (secret: { secret: string }) => {
    calls.push(secret.secret);
    if (secret.secret !== accepted) throw authFailed();
    return "sent";
  };
  return { calls, call };
}

describe("rotate-and-retry (one helper for every provider)", () => {
  it("after 'authentication failed' it re-reads the rotated secret and retries once", async () => {
    const secrets = new StaticSecrets({ [NAME]: OLD });
    await secrets.providerSecret(NAME); // a warm function holds the old secret
    secrets.rotate(NAME, NEW);
    const provider = providerAccepting(NEW.secret);
    expect(await withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, provider.call)).toBe("sent");
    expect(provider.calls).toEqual([OLD.secret, NEW.secret]);
    expect(secrets.refreshes).toEqual([NAME]);
  });

  it("with an unchanged secret the first failure stands: one refresh, one call", async () => {
    const secrets = new StaticSecrets({ [NAME]: OLD });
    const provider = providerAccepting(NEW.secret);
    const error = await failure(
      withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, provider.call),
    );
    expect(error.providerCode).toBe("40100");
    expect(provider.calls).toEqual([OLD.secret]);
    expect(secrets.refreshes).toEqual([NAME]);
  });

  it("never more than two calls", async () => {
    const secrets = new StaticSecrets({ [NAME]: OLD });
    await secrets.providerSecret(NAME);
    secrets.rotate(NAME, NEW);
    const provider = providerAccepting("neither");
    await failure(withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, provider.call));
    expect(provider.calls).toEqual([OLD.secret, NEW.secret]);
  });

  it("when the re-read secret is gone or invalid, the first failure stands", async () => {
    for (const change of [
      (s: StaticSecrets) => s.rotate(NAME, { authenticationId: "app-key" }),
      (s: StaticSecrets) => s.rotate(NAME, { ...NEW, extra: "field" }),
    ]) {
      const secrets = new StaticSecrets({ [NAME]: OLD });
      await secrets.providerSecret(NAME);
      change(secrets);
      const provider = providerAccepting(NEW.secret);
      const error = await failure(
        withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, provider.call),
      );
      expect(error).toMatchObject({ providerCode: "40100", kind: "auth" });
      expect(provider.calls).toEqual([OLD.secret]);
    }
  });

  it("any other failure is not retried and the secret is not re-read", async () => {
    const secrets = new StaticSecrets({ [NAME]: OLD });
    for (const thrown of [
      new ProviderError("sinch", "50000", "Internal error.", "unavailable"),
      new Error("socket hang up"),
    ]) {
      let calls = 0;
      const outcome = withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, async () => {
        calls += 1;
        throw thrown;
      });
      await expect(outcome).rejects.toBe(thrown);
      expect(calls).toBe(1);
    }
    expect(secrets.refreshes).toEqual([]);
  });

  it("retries only when what the call used changed (`usedOf`)", async () => {
    const secrets = new StaticSecrets({ [NAME]: OLD });
    await secrets.providerSecret(NAME);
    secrets.rotate(NAME, { ...OLD, authenticationId: "another-key" });
    const provider = providerAccepting(NEW.secret);
    await failure(
      withRotatingSecret({ secrets, spec: sinchSecret, name: NAME }, provider.call, (s) => s.secret),
    );
    expect(provider.calls).toEqual([OLD.secret]);
  });
});

describe("reading a provider secret", () => {
  it("checks it with the provider's one schema; missing, invalid and unreadable are told apart, values never shown", async () => {
    const secrets = new StaticSecrets();
    expect(await failure(readProviderSecret(secrets, twilioSecret, "twilio"))).toMatchObject({
      provider: "twilio",
      providerCode: "not_configured",
      message: 'the Twilio secret "twilio" is not set',
    });
    await secrets.putProviderSecret("twilio", { accountSid: "ACnot-a-sid", authToken: "tiny", note: "x" });
    const invalid = await failure(readProviderSecret(secrets, twilioSecret, "twilio"));
    expect(invalid).toMatchObject({ providerCode: "not_configured", kind: "not_configured" });
    expect(invalid.message).toMatch(/accountSid: .*authToken: .*note: unknown field/);
    expect(invalid.message).not.toContain("ACnot-a-sid");
    expect(invalid.message).not.toContain("tiny");
    const broken = new StaticSecrets();
    broken.providerSecret = () => Promise.reject(new Error("AccessDenied"));
    expect(await failure(readProviderSecret(broken, twilioSecret, "twilio"))).toMatchObject({
      providerCode: "secret_unavailable",
      kind: "unavailable",
    });
  });

  it("every provider with a secret is listed for the admin route, each under its own name and marker", () => {
    expect(providerSecretSchemas.map((s) => [s.provider, s.defaultName, s.marker])).toEqual([
      ["twilio", "twilio", "accountSid"],
      ["sinch", "sinch-verification-api", "authenticationId"],
    ]);
  });
});
