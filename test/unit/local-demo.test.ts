import { describe, expect, it } from "vitest";
import { getAppConfig } from "#core/use-cases/app-config";
import { ensureLocalWebauthn } from "#lib/local-demo";
import { testDeps } from "../support/deps.ts";

describe("the local stack's default app and the demo page", () => {
  it("sets rpId localhost for an app without WebAuthn, adds a new port's origin, leaves other rpIds alone", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp("Default app");
    await ensureLocalWebauthn(d, appId, "http://localhost:3000");
    expect((await getAppConfig(d, appId)).config.webauthn).toMatchObject({
      rpId: "localhost",
      origins: ["http://localhost:3000"],
    });
    await ensureLocalWebauthn(d, appId, "http://localhost:3001");
    await ensureLocalWebauthn(d, appId, "http://localhost:3001");
    const after = await getAppConfig(d, appId);
    expect(after.config.webauthn.origins).toEqual(["http://localhost:3000", "http://localhost:3001"]);
    expect(after.version).toBe(3);

    const { appId: other } = await d.createApp("Shop");
    await d.configure(other, (c) => {
      c.webauthn = { ...c.webauthn, rpId: "shop.example", origins: ["https://shop.example"] };
    });
    await ensureLocalWebauthn(d, other, "http://localhost:3000");
    expect((await getAppConfig(d, other)).config.webauthn.rpId).toBe("shop.example");
  });
});
