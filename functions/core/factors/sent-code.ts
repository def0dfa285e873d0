import { challengeCodeHash, digestsEqual } from "../codes.ts";
import { DomainError } from "../errors.ts";
import { and, merge } from "../model/state-write.ts";
import type { ChallengePurpose, ChallengeSlot, UserState } from "../model/user.ts";
import { codeExpiredError } from "../policy.ts";
import type { Deps } from "../ports.ts";
import {
  findSlot,
  issuedChallengeId,
  slotExpired,
  spendChallenge,
  VERIFICATION_PURPOSES,
} from "../rules/challenges.ts";
import { provesFactor } from "../rules/factors.ts";
import type { AppContext } from "../use-cases/app-config.ts";
import { conversionOf } from "../use-cases/sms-protection.ts";
import type { Check } from "../verification.ts";
import { codeOf, type Verifier } from "./kind.ts";

const notFound = () => new DomainError("challenge_not_found", "No such challenge for this user.");

/**
 * A code that was sent (sms, email): it must be the current one of its slot, unexpired, and
 * match (or, for provider-made codes, the provider says so). Approving spends it and proves
 * its factor is still active and MFA still on, in the same write.
 */
export async function checkSentCode(
  deps: Deps,
  ctx: AppContext,
  reserved: UserState,
  input: {
    userId: string;
    challengeId: string;
    code: string;
    purposes: readonly ChallengePurpose[];
    factorId?: string;
  },
): Promise<Check> {
  const { appId } = ctx.app;
  const now = deps.clock.now();
  const { pepper } = await deps.secrets.serviceSecret();
  const found = findSlot(reserved, input.challengeId, input.purposes);
  if (!found || (input.factorId !== undefined && found[1].factorId !== input.factorId)) {
    const ours = issuedChallengeId(pepper, appId, input.userId, input.purposes, input.challengeId);
    return { kind: "not_a_guess", error: ours ? codeExpiredError() : notFound() };
  }
  const [key, slot] = found;
  if (slotExpired(slot, now)) return { kind: "not_a_guess", error: codeExpiredError() };
  const right = slot.verificationId
    ? await providerSays(deps, ctx, slot, input.code)
    : digestsEqual(challengeCodeHash(pepper, appId, slot.id, input.code), slot.hash);
  if (right === "expired") return { kind: "not_a_guess", error: codeExpiredError() };
  if (!right) return { kind: "wrong" };
  const spend = spendChallenge(key, slot, deps.clock.now());
  const proof = slot.purpose === "activation" ? undefined : provesFactor(slot.factorId, now);
  return {
    kind: "right",
    settle: {
      change: merge(spend.change, proof?.change ?? {}),
      condition: and(spend.condition, proof?.condition),
    },
    // Superseded or spent meanwhile, or its factor removed or MFA turned off: the code is dead.
    refused: () => codeExpiredError(),
    // An approved SMS code is what SMS protection's conversion breaker counts as a real user.
    alongside: conversionOf(deps, ctx, slot),
  };
}

async function providerSays(deps: Deps, ctx: AppContext, slot: ChallengeSlot, code: string) {
  const verdict = await deps.smsVerification(ctx.config).report(slot.verificationId ?? "", code, ctx.config);
  return verdict === "expired" ? "expired" : verdict === "approved";
}

/** `POST /v1/verifications` with a `challengeId`: any kind that is sent a code. */
export const sentCodeVerifier: Verifier = {
  accepts: (request) => request.challengeId !== undefined && codeOf(request) !== undefined,
  needsFactors: false,
  async check(deps, ctx, request, reserved) {
    const slot = findSlot(reserved, request.challengeId ?? "", VERIFICATION_PURPOSES)?.[1];
    const check = await checkSentCode(deps, ctx, reserved, {
      userId: request.userId,
      challengeId: request.challengeId ?? "",
      code: codeOf(request) ?? "",
      purposes: VERIFICATION_PURPOSES,
    });
    return { check, method: slot?.channel ?? "sms" };
  },
};
