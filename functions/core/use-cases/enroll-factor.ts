import { parseEmail } from "../email.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import { parsePhone } from "../phone.ts";
import { assertNotLocked } from "../policy.ts";
import type { Deps, Factor } from "../ports.ts";
import { loadAppContext } from "./app-config.ts";
import { issueCode } from "./issue-code.ts";

export type EnrollInput =
  | { appId: string; userId: string; type: "sms"; phone: string; locale?: string }
  | { appId: string; userId: string; type: "email"; email: string; locale?: string };

export interface Enrollment {
  factor: Factor;
  challengeId: string;
  expiresAt: number;
}

/** Creates a pending factor (replacing a pending one of the same type) and sends it a code to confirm. */
export async function enrollFactor(deps: Deps, input: EnrollInput): Promise<Enrollment> {
  const ctx = await loadAppContext(deps, input.appId);
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  assertNotLocked(state, deps.clock.now());
  if (state?.activeFactors[input.type] !== undefined) {
    throw new DomainError("factor_exists", `The user already has an active ${input.type} factor.`);
  }
  const target =
    input.type === "sms"
      ? (({ e164, masked }) => ({ address: e164, destination: masked }))(parsePhone(input.phone, ctx.config))
      : (({ address, masked }) => ({ address, destination: masked }))(parseEmail(input.email));

  const factor: Factor = {
    factorId: newId("fac"),
    appId: input.appId,
    userId: input.userId,
    type: input.type,
    status: "pending",
    destination: target.destination,
    address: target.address,
    createdAt: deps.clock.now(),
  };
  const replaced = factors.filter((f) => f.type === input.type && f.status === "pending");
  const issued = await issueCode(deps, ctx, {
    userId: input.userId,
    purpose: "activation",
    targets: [{ channel: input.type, factor }],
    locale: input.locale,
    supersedes: replaced.flatMap((f) => (f.activationChallengeId ? [f.activationChallengeId] : [])),
  });
  const saved = { ...factor, activationChallengeId: issued.challenge.challengeId };
  await deps.store.putFactor(
    saved,
    replaced.map((f) => f.factorId),
  );
  return { factor: saved, challengeId: issued.challenge.challengeId, expiresAt: issued.challenge.expiresAt };
}
