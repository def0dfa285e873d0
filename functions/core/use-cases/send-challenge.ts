import { recordAudit } from "../audit.ts";
import { DomainError } from "../errors.ts";
import type { StartedChallenge } from "../factors/kind.ts";
import { kindOf } from "../factors/registry.ts";
import type { ChallengePurpose, CodeChannel } from "../model/user.ts";
import { assertNotLocked, channelOrder } from "../policy.ts";
import type { Deps, EpochMs } from "../ports.ts";
import { activeOfType } from "../rules/factors.ts";
import { loadAppContext } from "./app-config.ts";
import { type CodeTarget, type FallbackReason, issueCode } from "./issue-code.ts";

export interface SendInput {
  appId: string;
  userId: string;
  /** `auto`, a code channel, or a kind that starts its own challenge (`webauthn`). */
  channel: string;
  purpose: Exclude<ChallengePurpose, "activation">;
  locale?: string;
  /** The caller's address (the client app's server). */
  ip?: string;
  /** The end user's address, as the client app saw it. */
  clientIp?: string;
}

export interface SentChallenge {
  challengeId: string;
  channel: string;
  destination: string;
  expiresAt: EpochMs;
  fallbackUsed: boolean;
  fallbackReason?: FallbackReason;
}

/**
 * Sends a code to the user's active factor for the primary method, falling back as the app's
 * policy says. A kind that signs a challenge (WebAuthn) starts it instead: nothing is sent,
 * and nothing counts against the send limit.
 */
export async function sendChallenge(
  deps: Deps,
  input: SendInput & { channel: "auto" | CodeChannel },
): Promise<SentChallenge>;
export async function sendChallenge(deps: Deps, input: SendInput): Promise<SentChallenge | StartedChallenge>;
export async function sendChallenge(deps: Deps, input: SendInput): Promise<SentChallenge | StartedChallenge> {
  const ctx = await loadAppContext(deps, input.appId);
  const ip = input.clientIp ?? input.ip;
  const { state, factors } = await deps.store.loadUser(input.appId, input.userId);
  const now = deps.clock.now();
  assertNotLocked(state, now);

  const kind = kindOf(input.channel);
  if (kind?.startChallenge) {
    return kind.startChallenge(deps, ctx, { userId: input.userId, purpose: input.purpose, state });
  }
  const requested = input.channel === "auto" ? "auto" : kind?.channel;
  if (requested === undefined) {
    throw new DomainError("invalid_request", `Unknown channel ${input.channel}.`);
  }
  const order = channelOrder(ctx.config, requested);
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
  const sent: SentChallenge = {
    challengeId: challenge.id,
    channel: challenge.channel,
    destination: challenge.destination,
    expiresAt: challenge.expiresAt,
    fallbackUsed,
    ...(fallbackReason ? { fallbackReason } : {}),
  };
  return sent;
}
