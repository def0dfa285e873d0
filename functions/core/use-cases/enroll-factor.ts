import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import { kindOf } from "../factors/registry.ts";
import { newId } from "../ids.ts";
import type { FactorRecord } from "../model/user.ts";
import { assertNotLocked } from "../policy.ts";
import type { Deps } from "../ports.ts";
import { PENDING_FACTOR_TTL_SECONDS, usableOfType } from "../rules/factors.ts";
import { loadAppContext } from "./app-config.ts";
import { issueCode } from "./issue-code.ts";
import { assertSteppedUp } from "./step-up.ts";

export type EnrollInput = {
  appId: string;
  userId: string;
  ip?: string;
  /** The end user's address, as the client app saw it (SMS protection, the audit trail). */
  clientIp?: string;
  type: string;
} & Record<string, unknown>;

export interface Enrollment {
  factor: FactorRecord;
  /** Kinds that are sent a code: the challenge that activates the factor. */
  challengeId?: string;
  expiresAt?: number;
  /** What the response shows once (a TOTP secret and its QR codes). */
  reveal?: Record<string, unknown>;
}

/**
 * Creates a pending factor of the requested kind, replacing a pending one of the same kind.
 * A kind that is sent a code gets its first code now (it confirms the factor); a TOTP factor
 * returns its secret, shown only here.
 */
export async function enrollFactor(deps: Deps, input: EnrollInput): Promise<Enrollment> {
  const enrollment = await enroll(deps, input);
  await recordAudit(deps, {
    appId: input.appId,
    userId: input.userId,
    ip: input.clientIp ?? input.ip,
    type: "factor.enrolled",
    channel: input.type,
    destination: enrollment.factor.destination,
    outcome: "pending",
  });
  return enrollment;
}

async function enroll(deps: Deps, input: EnrollInput): Promise<Enrollment> {
  const ctx = await loadAppContext(deps, input.appId);
  const kind = kindOf(input.type);
  if (!kind) throw new DomainError("invalid_request", `Unknown factor type ${input.type}.`);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);
  // With MFA on, a new factor is a way in: only someone who just proved an existing one may add it.
  if (state?.enabled) assertSteppedUp(ctx, state, now);
  if (usableOfType(state, factors, kind.type).length >= kind.maxActive) {
    throw new DomainError("factor_exists", `The user already has an active ${kind.type} factor.`);
  }
  const { factor, reveal } = await kind.enroll(deps, ctx, {
    userId: input.userId,
    factorId: newId("fac"),
    now,
    body: input,
    state,
  });
  const expiresAt = now + PENDING_FACTOR_TTL_SECONDS * 1000;
  // A pending factor of the same kind is replaced by being older (see livePending): never deleted
  // here, since its activation may be racing this request. Its item expires by TTL.
  if (!kind.channel) {
    await deps.store.putFactor(factor, expiresAt);
    return { factor, reveal };
  }
  // Stored once its first code is out; the code takes over the kind's activation slot.
  const issued = await issueCode(deps, ctx, {
    userId: input.userId,
    purpose: "activation",
    targets: [{ channel: kind.channel, factor }],
    locale: typeof input.locale === "string" ? input.locale : undefined,
    ip: input.clientIp ?? input.ip,
    clientIp: input.clientIp,
    observed: state,
  });
  await deps.store.putFactor(factor, expiresAt);
  return { factor, challengeId: issued.challenge.id, expiresAt: issued.challenge.expiresAt };
}
