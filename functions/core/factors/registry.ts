import { email } from "./email/index.ts";
import type { FactorKind, Verifier } from "./kind.ts";
import { recoveryVerifier } from "./recovery/index.ts";
import { sentCodeVerifier } from "./sent-code.ts";
import { sms } from "./sms/index.ts";
import { totp } from "./totp/index.ts";
import { webauthn } from "./webauthn/index.ts";

/** Every factor kind, registered once: a new kind is a folder plus one line here. */
export const factorKinds = [sms, email, totp, webauthn] as const satisfies readonly FactorKind[];

/** A registered kind's `type` (stored as a string: an item written by a newer kind must still load). */
export type FactorType = string;

export function kindOf(type: string): FactorKind | undefined {
  return factorKinds.find((k) => k.type === type);
}

/** `POST /v1/verifications` tries these in order: a sent code (with challengeId), a recovery code, each kind's own. */
export const verifiers: readonly Verifier[] = [
  sentCodeVerifier,
  recoveryVerifier,
  ...new Set(factorKinds.flatMap((k) => (k.verifier && k.verifier !== sentCodeVerifier ? [k.verifier] : []))),
];
