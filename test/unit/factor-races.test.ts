import { describe, expect, it } from "vitest";
import type { StateWrite } from "#core/model/state-write";
import type { Store } from "#core/ports";
import { stepUpHolds } from "#core/rules/step-up";
import { activateFactor } from "#core/use-cases/activate-factor";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { disableMfa } from "#core/use-cases/manage-mfa";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { holds } from "../support/conditions.ts";
import { enrollWithCode, testDeps } from "../support/deps.ts";

/** A promise the test opens when it wants a held request to go on. */
const gate = () => {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
};

describe("a re-enrollment racing the activation of the factor it replaces", () => {
  it("never deletes the factor that was just activated: it stays usable, and the new one is pending", async () => {
    const d = await testDeps();
    const { appId } = await d.createApp();
    const userId = "ann";
    const first = await enrollWithCode(d, { appId, userId, type: "email", email: "ann@example.com" });
    const code = d.latestCode("ann@example.com");
    // the second enrollment's delivery takes a while (a real SES round trip)
    const held = gate();
    const real = d.email;
    d.email = (config) => {
      const provider = real(config);
      return {
        sendEmail: async (message) => {
          await held.opened;
          return provider.sendEmail(message);
        },
      };
    };
    const second = enrollFactor(d, { appId, userId, type: "email", email: "ann2@example.com" });
    await new Promise((resolve) => setTimeout(resolve, 50)); // it has read the user: the first factor pending
    const activated = await activateFactor(d, { appId, userId, factorId: first.factor.factorId, code });
    expect(activated.recoveryCodes).toHaveLength(10);
    held.open();
    await second;
    d.email = real;

    expect(await d.dynamo.getFactor(appId, userId, first.factor.factorId)).toBeDefined();
    const sent = await sendChallenge(d, { appId, userId, channel: "auto", purpose: "login" });
    expect(sent.destination).toBe("a***@example.com");
    const listed = await listFactors(d, { appId, userId });
    expect(listed.factors.map((f) => [f.factorId, f.status])).toContainEqual([
      first.factor.factorId,
      "active",
    ]);
  });
});

describe("turning MFA off writes under the step-up it decided on", () => {
  it("a DELETE /mfa read while MFA was off is refused at the write if MFA turned on meanwhile, then decided again", async () => {
    const release = gate();
    const writes: StateWrite[] = [];
    let holding = true;
    const d = await testDeps({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, prop, receiver) {
            if (prop === "writeUserState") {
              return async (appId: string, userId: string, write: StateWrite) => {
                const turnsOff = (write.change.remove ?? []).some((path) => path.join(".") === "enabled");
                if (turnsOff) writes.push(write);
                if (turnsOff && holding) {
                  holding = false;
                  await release.opened;
                }
                return target.writeUserState(appId, userId, write);
              };
            }
            const value = Reflect.get(target, prop, receiver);
            return typeof value === "function" ? value.bind(target) : value;
          },
        }) as Store,
    });
    const { appId } = await d.createApp();
    const userId = "bob";
    const pending = await enrollWithCode(d, { appId, userId, type: "email", email: "bob@example.com" });
    const code = d.latestCode("bob@example.com");
    const off = disableMfa(d, { appId, userId }); // MFA is off at its read: no step-up asked yet
    await new Promise((resolve) => setTimeout(resolve, 50));
    await activateFactor(d, { appId, userId, factorId: pending.factor.factorId, code });
    release.open();
    await off;
    // The held write required MFA still off, so it was refused; the second round required the step-up.
    expect(writes).toHaveLength(2);
    expect(holds(writes[0]?.condition, { enabled: true, verifiedAt: 0 })).toBe(false);
    expect(holds(writes[1]?.condition, { enabled: true, verifiedAt: 0 })).toBe(false);
    expect(
      holds(stepUpHolds({ enabled: true, verifiedAt: 1_000_000 }, 300, 1_000_000), {
        enabled: true,
        verifiedAt: 1,
      }),
    ).toBe(false);
  });
});
