import { recordAudit } from "../audit.ts";
import { issuerOf } from "../config.ts";
import { parseEmail } from "../email.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import { maskEmail } from "../mask.ts";
import { parsePhone } from "../phone.ts";
import { assertNotLocked } from "../policy.ts";
import type { Deps, Factor } from "../ports.ts";
import { encryptSecret } from "../secret-box.ts";
import { newTotpSecret, otpauthUri, qrCodes } from "../totp.ts";
import { type AppContext, loadAppContext } from "./app-config.ts";
import { issueCode } from "./issue-code.ts";
import { assertSteppedUp } from "./step-up.ts";

export type EnrollInput = { appId: string; userId: string; ip?: string } & (
  | { type: "sms"; phone: string; locale?: string }
  | { type: "email"; email: string; locale?: string }
  | { type: "totp"; label?: string }
);

export type Enrollment =
  | { factor: Factor; challengeId: string; expiresAt: number }
  | { factor: Factor; secret: string; otpauthUri: string; qrCodeSvg: string; qrCodeDataUrl: string };

/**
 * Creates a pending factor, replacing a pending one of the same type. An sms or email
 * factor is sent a code to confirm; a TOTP factor returns its secret (shown only here) as
 * text, otpauth:// URI and QR code, and is confirmed with the app's first code.
 */
export async function enrollFactor(deps: Deps, input: EnrollInput): Promise<Enrollment> {
  const enrollment = await enroll(deps, input);
  await recordAudit(deps, {
    appId: input.appId,
    userId: input.userId,
    ip: input.ip,
    type: "factor.enrolled",
    channel: input.type,
    destination: enrollment.factor.destination,
    outcome: "pending",
  });
  return enrollment;
}

async function enroll(deps: Deps, input: EnrollInput): Promise<Enrollment> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  assertNotLocked(state, deps.clock.now());
  // With MFA on, a new factor is a way in: only someone who just proved an existing one may add it.
  if (state?.enabled) assertSteppedUp(ctx, state, deps.clock.now());
  if (state?.activeFactors[input.type] !== undefined) {
    throw new DomainError("factor_exists", `The user already has an active ${input.type} factor.`);
  }
  const replaced = factors.filter((f) => f.type === input.type && f.status === "pending");
  const base = {
    factorId: newId("fac"),
    appId: input.appId,
    userId: input.userId,
    status: "pending" as const,
    createdAt: deps.clock.now(),
  };
  if (input.type === "totp")
    return enrollTotp(deps, ctx, { ...base, type: "totp" }, input.label ?? input.userId, replaced);

  const target =
    input.type === "sms"
      ? (({ e164, masked }) => ({ address: e164, destination: masked }))(parsePhone(input.phone, ctx.config))
      : (({ address, masked }) => ({ address, destination: masked }))(parseEmail(input.email));
  const factor: Factor = { ...base, type: input.type, ...target };
  const issued = await issueCode(deps, ctx, {
    userId: input.userId,
    purpose: "activation",
    targets: [{ channel: input.type, factor }],
    locale: input.locale,
    supersedes: replaced.flatMap((f) => (f.activationChallengeId ? [f.activationChallengeId] : [])),
    ip: input.ip,
    observed: { state },
  });
  const saved = { ...factor, activationChallengeId: issued.challenge.challengeId };
  await deps.store.putFactor(
    saved,
    replaced.map((f) => f.factorId),
  );
  return { factor: saved, challengeId: issued.challenge.challengeId, expiresAt: issued.challenge.expiresAt };
}

async function enrollTotp(
  deps: Deps,
  ctx: AppContext,
  base: Omit<Factor, "destination">,
  label: string,
  replaced: readonly Factor[],
): Promise<Enrollment> {
  const secret = newTotpSecret();
  const serviceSecret = await deps.secrets.serviceSecret();
  const factor: Factor = {
    ...base,
    destination: label.includes("@") ? maskEmail(label) : label,
    totpSecret: encryptSecret(secret, serviceSecret, base.factorId),
  };
  const uri = otpauthUri(ctx.config.totp, issuerOf(ctx.config, ctx.app.name), label, secret);
  const qr = await qrCodes(uri);
  await deps.store.putFactor(
    factor,
    replaced.map((f) => f.factorId),
  );
  return { factor, secret, otpauthUri: uri, qrCodeSvg: qr.svg, qrCodeDataUrl: qr.dataUrl };
}
