import { createHmac, randomBytes } from "node:crypto";
import { recordAudit } from "../../audit.ts";
import { wellFormed } from "../../config.ts";
import { DomainError } from "../../errors.ts";
import { and, merge } from "../../model/state-write.ts";
import type { ChallengeSlot, FactorRecord, UserState } from "../../model/user.ts";
import { codeExpiredError, invalidCodeError } from "../../policy.ts";
import type { Deps } from "../../ports.ts";
import { registerSlot } from "../../register-slot.ts";
import {
  findSlot,
  newChallengeId,
  slotExpired,
  slotKey,
  spendChallenge,
  VERIFICATION_PURPOSES,
} from "../../rules/challenges.ts";
import { provesFactor } from "../../rules/factors.ts";
import * as z from "../../schema.ts";
import type { AppContext } from "../../use-cases/app-config.ts";
import type { Check } from "../../verification.ts";
import type { ActivationCheck, FactorKind, Verifier } from "../kind.ts";
import {
  activeCredentials,
  authenticationResponse,
  parseStoredCredential,
  pendingSchema,
  registrationResponse,
} from "./credential.ts";
import { webauthnLibrary } from "./library.ts";
import { acceptSignCount, signCountAdvances } from "./sign-count.ts";

/** COSE algorithms offered and accepted: EdDSA, ES256, RS256 (what security keys and platforms use). */
const ALGORITHMS = [-8, -7, -257];
const MAX_ACTIVE = 10;

const notConfigured = () =>
  new DomainError(
    "webauthn_not_configured",
    "This app has no webauthn.rpId: set it (and webauthn.origins) first.",
  );
const invalidCredential = (why: string) =>
  new DomainError("invalid_credential", `The security key's registration was not accepted: ${why}.`);

/** The relying party of the app, or the refusal when it has none. */
function relyingParty(ctx: AppContext): { rpId: string; rpName: string; origins: string[] } {
  const { rpId, rpName, origins } = ctx.config.webauthn;
  if (rpId === null) throw notConfigured();
  return { rpId, rpName: rpName ?? ctx.app.name, origins };
}

/** The WebAuthn user handle: stable per app and user, and no personal data (the user id itself may be an email). */
const userHandle = (pepper: string, appId: string, userId: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(createHmac("sha256", pepper).update(`webauthn-user|${appId}|${userId}`).digest());

const challengeBytes = (): Uint8Array<ArrayBuffer> => new Uint8Array(randomBytes(32));

const fromBase64url = (value: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.from(value, "base64url"));

async function checkRegistration(
  deps: Deps,
  ctx: AppContext,
  factor: FactorRecord,
  reserved: UserState,
  credential: unknown,
): Promise<ActivationCheck> {
  const rp = relyingParty(ctx);
  const pending = pendingSchema.safeParse(factor.data);
  if (!pending.success)
    return { kind: "not_a_guess", error: invalidCredential("no registration is pending") };
  if (pending.data.challengeExpiresAt <= deps.clock.now())
    return { kind: "not_a_guess", error: codeExpiredError() };
  const given = registrationResponse(credential);
  if (!given) return { kind: "not_a_guess", error: invalidCredential("not a RegistrationResponseJSON") };
  const { verifyRegistrationResponse } = await webauthnLibrary();
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response: given.response,
      expectedChallenge: pending.data.challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpId,
      requireUserPresence: true,
      requireUserVerification: ctx.config.webauthn.userVerification === "required",
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch (error) {
    // The library's reason (wrong origin, rpIdHash, challenge, flags, signature) names no secret.
    return {
      kind: "not_a_guess",
      error: invalidCredential(error instanceof Error ? error.message : "not verified"),
    };
  }
  if (!verified.verified) return { kind: "not_a_guess", error: invalidCredential("not verified") };
  const info = verified.registrationInfo;
  if (ctx.config.webauthn.attestation === "direct" && info.fmt === "none") {
    return { kind: "not_a_guess", error: invalidCredential("the app requires an attestation statement") };
  }
  if (activeCredentials(reserved).some((c) => c.credential.credentialId === info.credential.id)) {
    return { kind: "not_a_guess", error: invalidCredential("this key is registered already") };
  }
  return {
    kind: "right",
    settle: { change: {} },
    // The activation lost a race (another activation, a removal): this registration is spent.
    refused: () => invalidCredential("this registration was already used"),
    factorData: {
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
      signCount: info.credential.counter,
      transports: given.transports,
      backupEligible: info.credentialDeviceType === "multiDevice",
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
    },
  };
}

/** The attempt is given back after a lost race, so it is not among those used up. */
const attemptsLeft = (ctx: AppContext, stored: UserState | undefined) =>
  Math.max(1, ctx.config.limits.maxVerifyAttempts - Math.max(0, (stored?.attempts ?? 0) - 1));

/**
 * An assertion answering one of the user's WebAuthn challenges. Everything that fails is a
 * wrong attempt (counted, lockout included): bad signature, wrong origin or rpId, unknown
 * credential, used or expired challenge, a counter that did not grow. Approving spends the
 * challenge, proves the factor still active and stores the new counter in one conditional write.
 */
async function checkAssertion(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  challengeId: string,
  credential: unknown,
  reserved: UserState,
): Promise<Check> {
  const rp = relyingParty(ctx);
  const now = deps.clock.now();
  const found = findSlot(reserved, challengeId, VERIFICATION_PURPOSES);
  const response = authenticationResponse(credential);
  if (!found || !response) return { kind: "wrong" };
  const [key, slot] = found;
  if (slot.nonce === undefined || slotExpired(slot, now)) return { kind: "wrong" };
  const match = activeCredentials(reserved).find((c) => c.credential.credentialId === response.id);
  if (!match) return { kind: "wrong" };
  const { verifyAuthenticationResponse } = await webauthnLibrary();
  let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>["authenticationInfo"];
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: slot.nonce,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpId,
      credential: {
        id: match.credential.credentialId,
        publicKey: fromBase64url(match.credential.publicKey),
        // The counter rule is ours (signCountAdvances), so a regression can be told apart and audited.
        counter: 0,
        transports: match.credential.transports,
      },
      requireUserVerification: ctx.config.webauthn.userVerification === "required",
    });
    if (!verified.verified) return { kind: "wrong" };
    info = verified.authenticationInfo;
  } catch {
    return { kind: "wrong" };
  }
  if (!signCountAdvances(match.credential.signCount, info.newCounter)) {
    await recordAudit(deps, {
      appId: ctx.app.appId,
      userId,
      type: "webauthn.counter_regressed",
      channel: "webauthn",
      target: match.factorId,
      outcome: `stored ${match.credential.signCount}, received ${info.newCounter}`,
    });
    return { kind: "wrong" };
  }
  const spend = spendChallenge(key, slot, now);
  const proof = provesFactor(match.factorId, now);
  const counter = acceptSignCount(match.factorId, info.newCounter, info.credentialBackedUp);
  return {
    kind: "right",
    settle: {
      change: merge(spend.change, proof.change, counter.change),
      condition: and(spend.condition, proof.condition, counter.condition),
    },
    // Another submission of this assertion (or a newer counter) got there first.
    refused: (stored) => invalidCodeError(attemptsLeft(ctx, stored)),
  };
}

/** `POST /v1/verifications` with a `challengeId` and a `credential`. */
const webauthnVerifier: Verifier = {
  accepts: (request) => "credential" in request && request.challengeId !== undefined,
  needsFactors: false,
  async check(deps, ctx, request, reserved) {
    if (!("credential" in request)) return { check: { kind: "wrong" }, method: "webauthn" };
    const check = await checkAssertion(
      deps,
      ctx,
      request.userId,
      request.challengeId ?? "",
      request.credential,
      reserved,
    );
    return { check, method: "webauthn" };
  },
};

/** Passkeys and security keys (WebAuthn) as a second factor: up to 10 per user, a key and its backups. */
export const webauthn: FactorKind = {
  type: "webauthn",
  maxActive: MAX_ACTIVE,
  proof: "credential",
  enrollBody: () =>
    z.strictObject({
      type: z.literal("webauthn"),
      label: z.optional(
        z
          .string()
          .check(z.trim(), z.minLength(1), z.maxLength(64), z.refine(wellFormed, "must be well-formed text")),
      ),
    }),
  async enroll(deps, ctx, request) {
    const rp = relyingParty(ctx);
    const { appId } = ctx.app;
    const { pepper } = await deps.secrets.serviceSecret();
    const ttlMs = ctx.config.code.ttlSeconds * 1000;
    const { generateRegistrationOptions } = await webauthnLibrary();
    const creationOptions = await generateRegistrationOptions({
      rpName: rp.rpName,
      rpID: rp.rpId,
      userName: request.userId,
      userDisplayName: request.userId,
      userID: userHandle(pepper, appId, request.userId),
      challenge: challengeBytes(),
      timeout: ttlMs,
      attestationType: ctx.config.webauthn.attestation,
      // A key already registered for this user is not registered twice.
      excludeCredentials: activeCredentials(request.state).map(({ credential }) => ({
        id: credential.credentialId,
        transports: credential.transports,
      })),
      // A second factor: the server names the credentials at login, so none needs to be discoverable.
      authenticatorSelection: {
        residentKey: "discouraged",
        requireResidentKey: false,
        userVerification: ctx.config.webauthn.userVerification,
      },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    const label = typeof request.body.label === "string" ? request.body.label : "Security key";
    const factor: FactorRecord = {
      factorId: request.factorId,
      appId,
      userId: request.userId,
      type: "webauthn",
      destination: label,
      // Single use: the factor activates once. It expires with the app's code lifetime.
      data: { challenge: creationOptions.challenge, challengeExpiresAt: request.now + ttlMs },
      createdAt: request.now,
    };
    return { factor, reveal: { creationOptions } };
  },
  checkActivation(deps, ctx, factor, reserved, proof) {
    if (!("credential" in proof)) {
      return Promise.resolve({ kind: "not_a_guess", error: invalidCredential("send the credential") });
    }
    return checkRegistration(deps, ctx, factor, reserved, proof.credential);
  },
  async startChallenge(deps, ctx, request) {
    const rp = relyingParty(ctx);
    const credentials = activeCredentials(request.state);
    if (credentials.length === 0)
      throw new DomainError("no_factor", "The user has no active webauthn factor.");
    const { appId } = ctx.app;
    const { pepper } = await deps.secrets.serviceSecret();
    const now = deps.clock.now();
    const ttlMs = ctx.config.code.ttlSeconds * 1000;
    const { generateAuthenticationOptions } = await webauthnLibrary();
    const requestOptions = await generateAuthenticationOptions({
      rpID: rp.rpId,
      allowCredentials: credentials.map(({ credential }) => ({
        id: credential.credentialId,
        transports: credential.transports,
      })),
      challenge: challengeBytes(),
      timeout: ttlMs,
      userVerification: ctx.config.webauthn.userVerification,
    });
    const slot: ChallengeSlot = {
      id: newChallengeId(pepper, appId, request.userId, request.purpose),
      hash: "",
      factorId: "",
      channel: "webauthn",
      purpose: request.purpose,
      destination: "",
      createdAt: now,
      expiresAt: now + ttlMs,
      nonce: requestOptions.challenge,
    };
    await Promise.all([
      registerSlot(deps, appId, request.userId, slotKey(slot.purpose, "webauthn"), slot, request.state),
      recordAudit(deps, {
        appId,
        userId: request.userId,
        type: "challenge.sent",
        channel: "webauthn",
        outcome: "started",
      }),
    ]);
    return {
      challengeId: slot.id,
      channel: "webauthn",
      expiresAt: slot.expiresAt,
      reveal: { requestOptions },
    };
  },
  alreadyActive: () => invalidCredential("this registration was already used"),
  view(factor, active) {
    const credential = parseStoredCredential(active?.data);
    return {
      label: factor.destination,
      ...(credential
        ? {
            transports: credential.transports,
            backupEligible: credential.backupEligible,
            backedUp: credential.backedUp,
            signCount: credential.signCount,
          }
        : {}),
    };
  },
  verifier: webauthnVerifier,
};
