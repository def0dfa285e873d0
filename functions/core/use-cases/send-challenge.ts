import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import type { ChallengePurpose, CodeChannel } from "../model/user.ts";
import { assertNotLocked, channelOrder } from "../policy.ts";
import type { Deps, EpochMs } from "../ports.ts";
import { activeOfType } from "../rules/factors.ts";
import { loadAppContext } from "./app-config.ts";
import { type CodeTarget, type FallbackReason, issueCode } from "./issue-code.ts";

export interface SendInput {
  appId: string;
  userId: string;
  channel: "auto" | CodeChannel;
  purpose: Exclude<ChallengePurpose, "activation">;
  locale?: string;
  /** The caller's address (the client app's server). */
  ip?: string;
  /** The end user's address, as the client app saw it. */
  clientIp?: string;
}

export interface SentChallenge {
  challengeId: string;
  channel: CodeChannel;
  destination: string;
  expiresAt: EpochMs;
  fallbackUsed: boolean;
  fallbackReason?: FallbackReason;
}

/** Sends a code to the user's active factor for the primary method, falling back as the app's policy says. */
export async function sendChallenge(deps: Deps, input: SendInput): Promise<SentChallenge> {
  const ctx = await loadAppContext(deps, input.appId);
  const ip = input.clientIp ?? input.ip;
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);

  const order = channelOrder(ctx.config, input.channel);
  const targets: CodeTarget[] = order.flatMap((channel) => {
    const [factorId] = activeOfType(state, channel);
    const factor = factors.find((f) => f.factorId === factorId);
    return factor ? [{ channel, factor }] : [];
  });
  if (targets.length === 0) {
    const event = { appId: input.appId, userId: input.userId, ip, channel: order[0] };
    await recordAudit(deps, { ...event, type: "challenge.sent", outcome: "no_factor" });
    throw new DomainError("no_factor", `The user has no active ${order.join(" or ")} factor.`);
  }
  const { challenge, fallbackUsed, fallbackReason } = await issueCode(deps, ctx, {
    userId: input.userId,
    purpose: input.purpose,
    targets,
    locale: input.locale,
    ip,
    clientIp: input.clientIp,
    preferredChannel: order[0],
    observed: state,
  });
  return {
    challengeId: challenge.id,
    channel: challenge.channel,
    destination: challenge.destination,
    expiresAt: challenge.expiresAt,
    fallbackUsed,
    ...(fallbackReason ? { fallbackReason } : {}),
  };
}
