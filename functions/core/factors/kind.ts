import type { z } from "zod";
import type { FactorRecord, UserState } from "../model/user.ts";
import type { CodeChannel, Deps, VerificationMethod } from "../ports.ts";
import type { AppContext } from "../use-cases/app-config.ts";
import type { Check } from "../verification.ts";

export interface EnrollRequest {
  userId: string;
  factorId: string;
  now: number;
  /** The request body, already valid against the kind's `enrollBody`. */
  body: Record<string, unknown>;
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
  /** The enrollment body, `type` included (a member of the route's discriminated union). */
  readonly enrollBody: z.ZodObject;
  /** A pending factor from the request, and what its response reveals once (a TOTP secret). */
  enroll(
    deps: Deps,
    ctx: AppContext,
    request: EnrollRequest,
  ): Promise<{ factor: FactorRecord; reveal?: Record<string, unknown> }>;
  /** The proof that activates a pending factor, checked after the attempt was counted. */
  checkActivation(
    deps: Deps,
    ctx: AppContext,
    factor: FactorRecord,
    reserved: UserState,
    code: string,
  ): Promise<Check>;
  readonly verifier?: Verifier;
}

export interface VerifyRequest {
  userId: string;
  code: string;
  challengeId?: string;
}

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
