import { and, contains, still } from "../../model/state-write.ts";
import { codeExpiredError } from "../../policy.ts";
import { normalizeRecoveryCode, recoveryCodeHash } from "../../recovery.ts";
import { codeOf, type Verifier } from "../kind.ts";

/**
 * Single-use recovery codes, issued when MFA turns on. Each is moved from the unused set to
 * the used one by the approving write (`contains` is its condition), so it works once; a
 * spent one answers 410 and is not counted.
 */
export const recoveryVerifier: Verifier = {
  accepts: (request) =>
    request.challengeId === undefined && normalizeRecoveryCode(codeOf(request) ?? "") !== undefined,
  needsFactors: false,
  async check(deps, ctx, request, reserved) {
    const code = normalizeRecoveryCode(codeOf(request) ?? "") ?? "";
    const { pepper } = await deps.secrets.serviceSecret();
    const hash = recoveryCodeHash(pepper, ctx.app.appId, request.userId, code);
    if (reserved.recovery?.has(hash)) {
      const spent = new Set([hash]);
      return {
        method: "recovery",
        check: {
          kind: "right",
          settle: {
            change: { delete: [[["recovery"], spent]], add: [[["recoveryUsed"], spent]] },
            condition: and(contains(["recovery"], hash), still(["enabled"], true)),
          },
          refused: () => codeExpiredError(),
        },
      };
    }
    if (reserved.recoveryUsed?.has(hash))
      return { method: "recovery", check: { kind: "not_a_guess", error: codeExpiredError() } };
    return { method: "recovery", check: { kind: "wrong" } };
  },
};
