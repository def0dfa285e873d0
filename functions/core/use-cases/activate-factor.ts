import { auditDenial, recordAudit } from "../audit.ts";
import { DomainError, invalidRequest } from "../errors.ts";
import { type Proof, proofKindOf } from "../factors/kind.ts";
import { kindOf } from "../factors/registry.ts";
import { and, merge } from "../model/state-write.ts";
import type { FactorRecord } from "../model/user.ts";
import { assertNotLocked, lockedError } from "../policy.ts";
import type { Deps } from "../ports.ts";
import { generateRecoveryCodes, recoveryCodeHash } from "../recovery.ts";
import { activateFactor as activation, activeOfType, isActive, livePending } from "../rules/factors.ts";
import { steppedUp } from "../rules/step-up.ts";
import { verifyOnce } from "../verification.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
import { assertSteppedUp, stepUpRequired } from "./step-up.ts";

export interface Activation {
  factor: FactorRecord & { status: "active"; activatedAt: number };
  /** Only when this activation turned MFA on for the user; never shown again. */
  recoveryCodes?: string[];
}

const notFound = () =>
  new DomainError(
    "factor_not_found",
    "No such factor for this user (a pending one lives a day: enroll again).",
  );
const exists = (type: string) =>
  new DomainError("factor_exists", `The user already has an active ${type} factor.`);

export type ActivateInput = { appId: string; userId: string; factorId: string; ip?: string } & Proof;

/**
 * Confirms a pending factor with its first proof: the code sent to it, the authenticator
 * app's current one, or a WebAuthn registration response.
 */
export async function activateFactor(deps: Deps, input: ActivateInput): Promise<Activation> {
  const ctx = await loadAppContext(deps, input.appId);
  const event = { appId: input.appId, userId: input.userId, ip: input.ip, type: "factor.activated" as const };
  const activation = await auditDenial(deps, event, () => activate(deps, ctx, input));
  await recordAudit(deps, {
    ...event,
    channel: activation.factor.type,
    destination: activation.factor.destination,
    outcome: activation.recoveryCodes ? "mfa_enabled" : "activated",
  });
  return activation;
}

async function activate(deps: Deps, ctx: AppContext, input: ActivateInput): Promise<Activation> {
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  const factor = factors.find((f) => f.factorId === input.factorId);
  const kind = factor && kindOf(factor.type);
  if (!factor || !kind) throw notFound();
  if (proofKindOf(input) !== kind.proof) {
    throw invalidRequest([
      { path: kind.proof, message: `a ${factor.type} factor is confirmed with its ${kind.proof}` },
    ]);
  }
  // A kind may answer its own way (WebAuthn: a registration sent again is a replay, 422).
  const alreadyActive = () =>
    kind.alreadyActive?.() ?? new DomainError("factor_exists", "This factor is already active.");
  if (isActive(state, factor.factorId)) throw alreadyActive();
  // Expired, or replaced by a newer enrollment of its kind.
  if (!livePending(state, factors, now).some((f) => f.factorId === factor.factorId)) throw notFound();
  // With MFA on, a new factor is a way in: even one enrolled before MFA was on needs a fresh verification.
  assertSteppedUp(ctx, state, now);
  // The item stops expiring before it can become active: a fault after the activating write must
  // not leave an active factor that the table deletes a day later.
  await deps.store.keepFactor(input.appId, input.userId, factor.factorId);

  const recoveryCodes = generateRecoveryCodes(ctx.config.recoveryCodes.count);
  const { pepper } = await deps.secrets.serviceSecret();
  const hashes = recoveryCodes.map((code) => recoveryCodeHash(pepper, input.appId, input.userId, code));
  let turnedMfaOn = false;
  const approved = await verifyOnce(
    deps,
    ctx,
    input.userId,
    async (reserved) => {
      // MFA may have turned on since the read: step-up is decided again on the reserved item (the
      // activating write then holds only on that factor set, `factorsVersion`).
      if (!steppedUp(reserved, ctx.config.stepUpSeconds, deps.clock.now())) {
        return { kind: "not_a_guess", error: stepUpRequired(ctx) };
      }
      const check = await kind.checkActivation(deps, ctx, factor, reserved, input);
      if (check.kind !== "right") return check;
      const decision = activation(
        reserved,
        factor,
        kind.maxActive,
        hashes,
        deps.clock.now(),
        check.factorData,
      );
      if (decision.kind === "factor_exists") {
        const error = isActive(reserved, factor.factorId) ? alreadyActive() : exists(factor.type);
        return { kind: "not_a_guess", error };
      }
      if (decision.kind === "locked") return { kind: "not_a_guess", error: lockedError(decision.until) };
      turnedMfaOn = decision.turnsMfaOn;
      return {
        ...check,
        settle: {
          change: merge(check.settle.change, decision.write.change),
          condition: and(check.settle.condition, decision.write.condition),
        },
        refused: (stored) =>
          isActive(stored, factor.factorId)
            ? alreadyActive()
            : activeOfType(stored, factor.type).length >= kind.maxActive
              ? exists(factor.type)
              : check.refused(stored),
      };
    },
    // Only the activation that turns MFA on proves possession well enough for step-up (the rule sets it).
    { countsAsVerification: false },
  );
  const activated = { ...factor, status: "active" as const, activatedAt: approved.at };
  return turnedMfaOn ? { factor: activated, recoveryCodes } : { factor: activated };
}
