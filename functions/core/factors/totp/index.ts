import { issuerOf, wellFormed } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import { maskEmail } from "../../mask.ts";
import { absentOr, and, type StateWrite } from "../../model/state-write.ts";
import type { FactorRecord, UserState } from "../../model/user.ts";
import { codeExpiredError, invalidCodeError } from "../../policy.ts";
import type { Deps } from "../../ports.ts";
import { activeOfType, provesFactor } from "../../rules/factors.ts";
import * as z from "../../schema.ts";
import { decryptSecret, encryptSecret } from "../../secret-box.ts";
import { matchTotp, newTotpSecret, otpauthUri, qrCodes } from "../../totp.ts";
import type { AppContext } from "../../use-cases/app-config.ts";
import type { Check } from "../../verification.ts";
import { codeOf, type FactorKind } from "../kind.ts";

const secretOf = async (deps: Deps, factor: FactorRecord): Promise<string> => {
  if (!factor.totpSecret) throw new DomainError("factor_not_found", "No such factor for this user.");
  return decryptSecret(factor.totpSecret, await deps.secrets.serviceSecret(), factor.factorId);
};

/** Each time step is accepted once: the approving write requires the stored step to be older. */
const acceptStep = (step: number): StateWrite => ({
  change: { set: [[["totpAt"], step]] },
  condition: absentOr(["totpAt"], "<", step),
});

/** A right code of a step already accepted (a replay, or the user's own double submit): refused, not counted. */
const replayed = (ctx: AppContext, state: UserState | undefined, given: boolean) =>
  invalidCodeError(
    Math.max(1, ctx.config.limits.maxVerifyAttempts - Math.max(0, (state?.attempts ?? 0) - (given ? 1 : 0))),
  );

async function checkLogin(
  deps: Deps,
  ctx: AppContext,
  reserved: UserState,
  factor: FactorRecord,
  code: string,
): Promise<Check> {
  const secret = await secretOf(deps, factor);
  const now = deps.clock.now();
  const step = await matchTotp(ctx.config.totp, secret, code, now, reserved.totpAt);
  if (step === undefined) {
    const used = (await matchTotp(ctx.config.totp, secret, code, now)) !== undefined;
    return used ? { kind: "not_a_guess", error: replayed(ctx, reserved, true) } : { kind: "wrong" };
  }
  const accept = acceptStep(step);
  const proof = provesFactor(factor.factorId, now);
  return {
    kind: "right",
    settle: {
      change: { set: [...(accept.change.set ?? []), ...(proof.change.set ?? [])] },
      condition: and(accept.condition, proof.condition),
    },
    refused: (stored) =>
      (stored?.totpAt ?? Number.NEGATIVE_INFINITY) >= step
        ? replayed(ctx, stored, false)
        : codeExpiredError(),
  };
}

export const totp: FactorKind = {
  type: "totp",
  maxActive: 1,
  proof: "code",
  enrollBody: () =>
    z.strictObject({
      type: z.literal("totp"),
      label: z.optional(
        z
          .string()
          .check(
            z.trim(),
            z.minLength(1),
            z.maxLength(128),
            z.refine(wellFormed, "must be well-formed text"),
          ),
      ),
    }),
  async enroll(deps, ctx, request) {
    const label = typeof request.body.label === "string" ? request.body.label : request.userId;
    const secret = await newTotpSecret();
    const factor: FactorRecord = {
      factorId: request.factorId,
      appId: ctx.app.appId,
      userId: request.userId,
      type: "totp",
      destination: label.includes("@") ? maskEmail(label) : label,
      totpSecret: encryptSecret(secret, await deps.secrets.serviceSecret(), request.factorId),
      createdAt: request.now,
    };
    const uri = await otpauthUri(ctx.config.totp, issuerOf(ctx.config, ctx.app.name), label, secret);
    const qr = await qrCodes(uri);
    return { factor, reveal: { secret, otpauthUri: uri, qrCodeSvg: qr.svg, qrCodeDataUrl: qr.dataUrl } };
  },
  async checkActivation(deps, ctx, factor, _reserved, proof) {
    const code = codeOf(proof) ?? "";
    const step = await matchTotp(ctx.config.totp, await secretOf(deps, factor), code, deps.clock.now());
    if (step === undefined) return { kind: "wrong" };
    return {
      kind: "right",
      settle: { change: { set: [[["totpAt"], step]] } },
      refused: () => codeExpiredError(),
    };
  },
  verifier: {
    accepts: (request) => request.challengeId === undefined && codeOf(request) !== undefined,
    needsFactors: true,
    async check(deps, ctx, request, reserved, factors) {
      const [factorId] = activeOfType(reserved, "totp");
      const factor =
        factorId === undefined ? undefined : (await factors()).find((f) => f.factorId === factorId);
      if (!factor) {
        const error = new DomainError(
          "challenge_not_found",
          "Pass the challengeId of the code that was sent; this user has no authenticator app.",
        );
        return { check: { kind: "not_a_guess", error }, method: "totp" };
      }
      return { check: await checkLogin(deps, ctx, reserved, factor, codeOf(request) ?? ""), method: "totp" };
    },
  },
};
