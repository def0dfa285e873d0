import { describe, expect, it } from "vitest";
import { sha256Hex } from "#core/codes";
import type { AppConfig } from "#core/config";
import { getAppConfig, StoredConfigInvalid, updateAppConfig } from "#core/use-cases/app-config";
import { authenticateClient } from "#core/use-cases/authenticate-client";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { domainError, rejection, testDeps } from "../support/deps.ts";

async function setup() {
  const d = await testDeps();
  const created = await d.createApp("Acme");
  const current = await getAppConfig(d, created.appId);
  return { d, ...created, current };
}

/** A full config document (PUT replaces the whole document): `current` with `change` applied. */
const edited = (current: AppConfig, change: (config: AppConfig) => void): AppConfig => {
  const config = structuredClone(current);
  change(config);
  return config;
};
const withCodeLength = (current: AppConfig, length: number): AppConfig =>
  edited(current, (c) => {
    c.code.length = length;
  });

describe("creating an app", () => {
  it("stores the default config at version 1 with the app's name as TOTP issuer", async () => {
    const { current } = await setup();
    expect(current.version).toBe(1);
    expect(current.app.name).toBe("Acme");
    expect(current.config.totp.issuer).toBe("Acme");
    expect(current.config.limits).toEqual({
      maxCodeRequests: 5,
      requestTimeoutSeconds: 900,
      maxVerifyAttempts: 3,
      lockoutSeconds: 1800,
    });
  });

  it("returns an API key that authenticates as the app, stored only as a hash", async () => {
    const { d, appId, apiKey } = await setup();
    expect(await authenticateClient(d, apiKey)).toBe(appId);
    const stored = await d.tableText();
    expect(stored).not.toContain(apiKey);
    expect(stored).toContain(sha256Hex(apiKey));
    for (const bearer of [undefined, "", `${apiKey}x`, "otpk_unknown"]) {
      expect((await domainError(authenticateClient(d, bearer))).code).toBe("unauthorized");
    }
  });

  it("refuses a revoked key while the app's other keys keep working", async () => {
    const { d, appId, apiKey, keyId } = await setup();
    const second = "otpk_second-key-for-this-test";
    await d.store.putApiKey({ keyHash: sha256Hex(second), keyId: "key_2", appId, createdAt: d.clock.now() });
    expect(await authenticateClient(d, second)).toBe(appId);
    expect(await d.store.revokeApiKey(appId, keyId, d.clock.now())).toBe(true);
    expect((await domainError(authenticateClient(d, apiKey))).code).toBe("unauthorized");
    expect(await authenticateClient(d, second)).toBe(appId);
    expect(await d.store.revokeApiKey(appId, "key_unknown", d.clock.now())).toBe(false);
  });

  it("gives every app its own id and key", async () => {
    const { d, appId, apiKey } = await setup();
    const other = await d.createApp("Other");
    expect(other.appId).not.toBe(appId);
    expect(other.apiKey).not.toBe(apiKey);
    expect(await authenticateClient(d, other.apiKey)).toBe(other.appId);
  });
});

describe("updating the config", () => {
  it("with the current version writes the next version", async () => {
    const { d, appId, current } = await setup();
    const body = structuredClone(current.config) as AppConfig;
    body.code.length = 8;
    const updated = await updateAppConfig(d, { appId, body, ifMatch: 1 });
    expect(updated.version).toBe(2);
    expect(updated.config.version).toBe(2);
    expect(updated.config.code.length).toBe(8);

    const read = await getAppConfig(d, appId);
    expect(read.version).toBe(2);
    expect(read.config).toEqual(updated.config);
  });

  it("answers version_conflict for a stale If-Match and leaves the config as it was", async () => {
    const { d, appId, current } = await setup();
    await updateAppConfig(d, { appId, body: withCodeLength(current.config, 7), ifMatch: 1 });
    const error = await domainError(
      updateAppConfig(d, { appId, body: withCodeLength(current.config, 9), ifMatch: 1 }),
    );
    expect(error.code).toBe("version_conflict");
    const read = await getAppConfig(d, appId);
    expect(read.version).toBe(2);
    expect(read.config.code.length).toBe(7);
    expect(current.version).toBe(1);
  });

  it("lets only one of two concurrent writers of the same version win", async () => {
    const { d, appId, current } = await setup();
    const results = await Promise.allSettled([
      updateAppConfig(d, { appId, body: withCodeLength(current.config, 7), ifMatch: 1 }),
      updateAppConfig(d, { appId, body: withCodeLength(current.config, 9), ifMatch: 1 }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r) => r.status === "rejected");
    expect((failed as PromiseRejectedResult).reason).toMatchObject({ code: "version_conflict" });
    expect((await getAppConfig(d, appId)).version).toBe(2);
  });

  it("answers version_conflict when the stored version moved between the read and the write", async () => {
    const { d, appId, current } = await setup();
    // With If-Match "*" the write is still conditional on the version it read.
    const realGetConfig = d.store.getConfig.bind(d.store);
    let raced = false;
    d.store.getConfig = async (id: string) => {
      const read = await realGetConfig(id);
      if (!raced) {
        raced = true;
        await updateAppConfig(d, { appId, body: withCodeLength(current.config, 7), ifMatch: "*" });
      }
      return read;
    };
    const error = await domainError(
      updateAppConfig(d, { appId, body: withCodeLength(current.config, 9), ifMatch: "*" }),
    );
    expect(error.code).toBe("version_conflict");
    d.store.getConfig = realGetConfig;
    expect((await getAppConfig(d, appId)).config.code.length).toBe(7);
  });

  it("answers invalid_config listing every bad path, and writes nothing", async () => {
    const { d, appId, current } = await setup();
    const body = {
      ...edited(current.config, (c) => {
        c.code.length = 11;
        c.limits.lockoutSeconds = 0;
        c.totp.window = 3;
      }),
      extra: true,
    };
    const error = await domainError(updateAppConfig(d, { appId, body, ifMatch: 1 }));
    expect(error.code).toBe("invalid_config");
    expect(error.extras.errors?.map((e) => e.path).sort()).toEqual(
      ["code.length", "extra", "limits.lockoutSeconds", "totp.window"].sort(),
    );
    expect((await getAppConfig(d, appId)).version).toBe(1);
  });

  it("ignores a version in the body: the store decides it", async () => {
    const { d, appId, current } = await setup();
    const updated = await updateAppConfig(d, { appId, body: { ...current.config, version: 99 }, ifMatch: 1 });
    expect(updated.version).toBe(2);
    expect(updated.config.version).toBe(2);
  });

  it("answers app_not_found for an unknown app", async () => {
    const { d } = await setup();
    expect((await domainError(updateAppConfig(d, { appId: "app_nope", body: {}, ifMatch: "*" }))).code).toBe(
      "app_not_found",
    );
    expect((await domainError(getAppConfig(d, "app_nope"))).code).toBe("app_not_found");
  });
});

describe("a stored config that is out of range", () => {
  it("is refused by the loader rather than used", async () => {
    const { d, appId, current } = await setup();
    const bad = { ...current.config, code: { length: 99, ttlSeconds: 300 } };
    expect(await d.store.putConfig(appId, bad, 1)).toBe("ok");
    const error = await rejection(
      sendChallenge(d, { appId, userId: "alice", channel: "auto", purpose: "login" }),
    );
    expect(error).toBeInstanceOf(StoredConfigInvalid);
    expect((error as StoredConfigInvalid).errors.map((e) => e.path)).toEqual(["code.length"]);
    expect(d.outbox).toEqual([]);
  });
});
