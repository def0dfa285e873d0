import type { FactorRecord } from "../model/user.ts";
import type { CodeChannel } from "../ports.ts";
import { slotKey } from "../rules/challenges.ts";
import * as z from "../schema.ts";
import type { AppContext } from "../use-cases/app-config.ts";
import { codeOf, type FactorKind } from "./kind.ts";
import { checkSentCode, sentCodeVerifier } from "./sent-code.ts";

export const localeField = () =>
  z.optional(
    z.string().check(z.regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a BCP 47 locale such as en or pt-BR")),
  );

/** A factor reached by a sent code: its address is parsed and masked at enrollment, and a code confirms it. */
export function codeKind<T extends CodeChannel, F extends string>(spec: {
  channel: T;
  field: F;
  maxLength: number;
  parse: (
    input: string,
    ctx: AppContext,
  ) => Promise<{ address: string; masked: string; country?: string | undefined }>;
}): FactorKind {
  return {
    type: spec.channel,
    maxActive: 1,
    channel: spec.channel,
    proof: "code",
    enrollBody: () =>
      z.strictObject({
        type: z.literal(spec.channel),
        [spec.field]: z.string().check(z.minLength(1), z.maxLength(spec.maxLength)),
        locale: localeField(),
      }),
    async enroll(_deps, ctx, request) {
      const { address, masked, country } = await spec.parse(String(request.body[spec.field]), ctx);
      const factor: FactorRecord = {
        factorId: request.factorId,
        appId: ctx.app.appId,
        userId: request.userId,
        type: spec.channel,
        destination: masked,
        address,
        ...(country ? { country } : {}),
        createdAt: request.now,
      };
      return { factor };
    },
    checkActivation(deps, ctx, factor, reserved, proof) {
      const slot = reserved.challenges?.[slotKey("activation", factor.type)];
      return checkSentCode(deps, ctx, reserved, {
        userId: factor.userId,
        challengeId: slot?.id ?? "",
        code: codeOf(proof) ?? "",
        purposes: ["activation"],
        factorId: factor.factorId,
      });
    },
    verifier: sentCodeVerifier,
  };
}
