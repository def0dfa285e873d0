import { auditDenial } from "../audit.ts";
import { DomainError } from "../errors.ts";
import type { Proof } from "../factors/kind.ts";
import { verifiers } from "../factors/registry.ts";
import { merge } from "../model/state-write.ts";
import type { FactorRecord } from "../model/user.ts";
import { recoveryRemaining } from "../model/user.ts";
import type { Deps, VerificationMethod } from "../ports.ts";
import { issueSessionToken, trackSession } from "../rules/sessions.ts";
import { verifyOnce } from "../verification.ts";
import { loadAppContext } from "./app-config.ts";

export type VerifyInput = {
  appId: string;
  userId: string;
  challengeId?: string;
  ip?: string;
} & Proof;

export interface Approval {
  status: "approved";
  method: VerificationMethod;
  sessionToken: string;
  sessionExpiresAt: number;
  recoveryCodesRemaining: number;
}

/**
 * With a challenge id: that sent code, or the credential that signed that challenge
 * (WebAuthn). Without: a recovery code when the input has that format, else the user's
 * authenticator app. The first registered verifier that accepts the
 * request checks it, inside one verification unit (reserve → check → settle). The session
 * token is signed, so issuing it writes nothing.
 */
export async function verifyCode(deps: Deps, input: VerifyInput): Promise<Approval> {
  const ctx = await loadAppContext(deps, input.appId);
  const who = { appId: input.appId, userId: input.userId, ip: input.ip };
  return auditDenial(deps, { ...who, type: "verification.denied" }, async () => {
    const verifier = verifiers.find((v) => v.accepts(input));
    if (!verifier) throw new DomainError("challenge_not_found", "No such challenge for this user.");
    // Read beside the reservation when the verifier needs factor items (TOTP): nothing is compared before it is counted.
    const factors = verifier.needsFactors
      ? deps.store.loadUser(input.appId, input.userId).then((records) => records.factors)
      : undefined;
    factors?.catch(() => undefined);
    const loadFactors = (): Promise<FactorRecord[]> => factors ?? Promise.resolve([]);
    const durationMs = ctx.config.sessions.durationSeconds * 1000;
    let method: VerificationMethod = "sms";
    const approved = await verifyOnce(
      deps,
      ctx,
      input.userId,
      async (reserved) => {
        const found = await verifier.check(deps, ctx, input, reserved, loadFactors);
        method = found.method;
        const { check } = found;
        if (check.kind !== "right") return check;
        const track = trackSession(reserved, deps.clock.now(), durationMs);
        return { ...check, settle: { ...check.settle, change: merge(check.settle.change, track.change) } };
      },
      {
        approvalEvent: () => ({
          ...who,
          type: "verification.approved",
          outcome: "approved",
          channel: method,
        }),
      },
    );
    const { pepper } = await deps.secrets.serviceSecret();
    const sessionExpiresAt = approved.at + durationMs;
    return {
      status: "approved" as const,
      method,
      sessionToken: issueSessionToken(pepper, {
        appId: input.appId,
        userId: input.userId,
        gen: approved.state.sessionGen ?? 0,
        issuedAt: approved.at,
        expiresAt: sessionExpiresAt,
        method,
      }),
      sessionExpiresAt,
      recoveryCodesRemaining: recoveryRemaining(approved.state),
    };
  });
}
