import type { DomainError } from "../errors.ts";
import type { ActiveFactor, ChallengePurpose, FactorRecord, UserState } from "../model/user.ts";
import type { CodeChannel, Deps, EpochMs, VerificationMethod } from "../ports.ts";
import type * as z from "../schema.ts";
import type { AppContext } from "../use-cases/app-config.ts";
import type { Check } from "../verification.ts";

/**
 * What a person presents to activate or verify a factor: a code (sent, from an app, a
 * recovery code), or a WebAuthn credential (a JSON object, parsed by its kind).
 */
export type Proof = { code: string } | { credential: Readonly<Record<string, unknown>> };
export type ProofKind = "code" | "credential";

export const proofKindOf = (proof: Proof): ProofKind => ("code" in proof ? "code" : "credential");
export const codeOf = (proof: Proof): string | undefined => ("code" in proof ? proof.code : undefined);

export interface EnrollRequest {
  userId: string;
  factorId: string;
  now: number;
  /** The request body, already valid against the kind's `enrollBody`. */
  body: Record<string, unknown>;
  /** The user item as just read (consistently): the factors already active. */
  state: UserState | undefined;
}

/** A checked activation; a right one may bring what the active factor keeps (`ActiveFactor.data`). */
export type ActivationCheck =
  | Exclude<Check, { kind: "right" }>
  | (Extract<Check, { kind: "right" }> & { factorData?: Readonly<Record<string, unknown>> });

/** A challenge a kind starts itself at `POST /v1/challenges` (nothing is sent): what the client needs to answer it. */
export interface StartedChallenge {
  challengeId: string;
  channel: string;
  expiresAt: EpochMs;
  /** Shown to the client beside the challenge id (WebAuthn: `requestOptions`). */
  reveal: Record<string, unknown>;
}

/**
 * One kind of second factor (privacyIDEA's token classes, Kratos' strategies): how it is
 * enrolled, how a pending one is activated, how it is checked at login, and what it stores.
 * Registered once in `registry.ts`; request schemas, OpenAPI, listing and "MFA off" follow.
 */
export interface FactorKind {
  readonly type: string;
  /** How many active factors of this kind one user may hold. */
  readonly maxActive: number;
  /** Kinds that are sent a code: the channel (enrollment sends the first code there). */
  readonly channel?: CodeChannel;
  /** What activates it (and, for its own verifier, what verifies it). */
  readonly proof: ProofKind;
  /**
   * The enrollment body, `type` included (a member of the route's discriminated union). A
   * function: the union is built by the first enrollment, not by every cold start.
   */
  enrollBody(): z.ZodMiniObject;
  /** A pending factor from the request, and what its response reveals once (a TOTP secret). */
  enroll(
    deps: Deps,
    ctx: AppContext,
    request: EnrollRequest,
  ): Promise<{ factor: FactorRecord; reveal?: Record<string, unknown> }>;
  /** The proof that activates a pending factor (of the kind's `proof`), checked after the attempt was counted. */
  checkActivation(
    deps: Deps,
    ctx: AppContext,
    factor: FactorRecord,
    reserved: UserState,
    proof: Proof,
  ): Promise<ActivationCheck>;
  /** Kinds that sign a challenge rather than being sent a code: `POST /v1/challenges` with `channel: <type>`. */
  startChallenge?(
    deps: Deps,
    ctx: AppContext,
    request: {
      userId: string;
      purpose: Exclude<ChallengePurpose, "activation">;
      state: UserState | undefined;
    },
  ): Promise<StartedChallenge>;
  /** The answer to an activation of a factor already active, when not 409 `factor_exists` (WebAuthn: a replay). */
  alreadyActive?(): DomainError;
  /** Fields the factor list shows beside the common ones (never a secret). */
  view?(factor: FactorRecord, active: ActiveFactor | undefined): Record<string, unknown>;
  readonly verifier?: Verifier;
}

export type VerifyRequest = {
  userId: string;
  challengeId?: string;
} & Proof;

/** A way to check `POST /v1/verifications`: the first verifier that accepts the request checks it. */
export interface Verifier {
  accepts(request: VerifyRequest): boolean;
  /** Read beside the reservation (safe: nothing is compared before the attempt is counted). */
  readonly needsFactors: boolean;
  check(
    deps: Deps,
    ctx: AppContext,
    request: VerifyRequest,
    reserved: UserState,
    factors: () => Promise<FactorRecord[]>,
  ): Promise<{ check: Check; method: VerificationMethod }>;
}
