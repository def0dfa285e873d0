import { recordAudit } from "../audit.ts";
import { challengeCodeHash, generateNumericCode } from "../codes.ts";
import { DomainError, ProviderError } from "../errors.ts";
import { newId } from "../ids.ts";
import { lockedError, minutesOf, PROVIDER_TIMEOUT_MS, rateLimitedError, withTimeout } from "../policy.ts";
import type { Challenge, ChallengePurpose, CodeChannel, Deps, Factor, UserState } from "../ports.ts";
import { renderTemplate, templatesFor } from "../templates.ts";
import type { AppContext } from "./app-config.ts";

export interface CodeTarget {
  channel: CodeChannel;
  factor: Factor;
}

export interface IssuedCode {
  challenge: Challenge;
  fallbackUsed: boolean;
}

/**
 * Sends one code to the first target whose provider accepts it, trying the next on refusal,
 * error or timeout. One challenge per request, counted once against the send limit, and not
 * counted at all when no provider accepted it. Earlier challenges of the same purpose stop
 * working only once the new code is out.
 */
export async function issueCode(
  deps: Deps,
  ctx: AppContext,
  input: {
    userId: string;
    purpose: ChallengePurpose;
    targets: readonly CodeTarget[];
    locale?: string;
    /** Pending activation codes this one replaces; sent codes of other purposes replace by becoming current. */
    supersedes?: readonly string[];
    ip?: string;
    /** The channel the policy wanted first; any other one that carries the code is a fallback. */
    preferredChannel?: CodeChannel;
    /** The user's state as the caller just read it. */
    observed?: { state: UserState | undefined };
  },
): Promise<IssuedCode> {
  const [first] = input.targets;
  if (!first) throw new DomainError("no_factor", "The user has no active factor to send a code to.");
  const { config, app } = ctx;
  const now = deps.clock.now();
  const reservation = await deps.store.reserveSend(
    app.appId,
    input.userId,
    {
      now,
      maxCodeRequests: config.limits.maxCodeRequests,
      windowSeconds: config.limits.requestTimeoutSeconds,
    },
    input.observed,
  );
  const audit = { appId: app.appId, userId: input.userId, ip: input.ip };
  if (!reservation.ok) {
    const locked = "lockedUntil" in reservation;
    await recordAudit(deps, {
      ...audit,
      type: "challenge.sent",
      channel: first.channel,
      outcome: locked ? "locked" : "rate_limited",
    });
    throw locked ? lockedError(reservation.lockedUntil) : rateLimitedError(reservation.retryAt, now);
  }

  const { pepper } = await deps.secrets.serviceSecret();
  const challengeId = newId("ch");
  const code = generateNumericCode(config.code.length);
  const challenge: Challenge = {
    challengeId,
    appId: app.appId,
    userId: input.userId,
    purpose: input.purpose,
    channel: first.channel,
    factorId: first.factor.factorId,
    codeHash: challengeCodeHash(pepper, app.appId, challengeId, code),
    destination: first.factor.destination,
    createdAt: now,
    expiresAt: now + config.code.ttlSeconds * 1000,
  };
  try {
    await deps.store.putChallenge(challenge);
  } catch (error) {
    await deps.store.releaseSend(app.appId, input.userId, reservation.windowEnd).catch(() => undefined);
    throw error;
  }

  const text = templatesFor(config, input.locale);
  const values = { app: config.totp.issuer ?? app.name, code, minutes: minutesOf(config.code.ttlSeconds) };
  const deliver = async (target: CodeTarget, address: string): Promise<string | undefined> => {
    if (target.channel === "email") {
      await deps.email(config).sendEmail({
        to: address,
        fromAddress: config.email.fromAddress,
        fromName: config.email.fromName,
        subject: renderTemplate(text.emailSubject, values),
        text: renderTemplate(text.emailText, values),
        html: renderTemplate(text.emailHtml, values),
        configurationSet: config.email.configurationSet,
      });
      return undefined;
    }
    const sms = deps.sms(config);
    if (sms.kind === "verification") {
      // The provider (Sinch) generates, sends and later checks its own code.
      const started = await sms.start(
        {
          to: address,
          locale: input.locale,
          expirySeconds: config.code.ttlSeconds,
          reference: challengeId,
        },
        config,
      );
      return started.verificationId;
    }
    await sms.sendSms({ to: address, body: renderTemplate(text.sms, values) }, config);
    return undefined;
  };

  let lastError: ProviderError | undefined;
  for (const [index, target] of input.targets.entries()) {
    let verificationId: string | undefined;
    try {
      const address = target.factor.address;
      if (!address) throw new ProviderError(target.channel, "no_address", "factor has no address");
      verificationId = await withTimeout(deliver(target, address), PROVIDER_TIMEOUT_MS, target.channel);
    } catch (error) {
      // Whatever went wrong inside a provider adapter, that channel failed: try the next one.
      lastError =
        error instanceof ProviderError
          ? error
          : new ProviderError(target.channel, "error", "the provider adapter failed", "unavailable");
      continue;
    }
    const delivered: Challenge = {
      ...challenge,
      channel: target.channel,
      factorId: target.factor.factorId,
      destination: target.factor.destination,
      ...(verificationId === undefined ? {} : { verificationId, codeHash: "" }),
    };
    if (index > 0 || verificationId !== undefined) await deps.store.recordDelivery(delivered);
    const fallbackUsed = delivered.channel !== (input.preferredChannel ?? first.channel) || index > 0;
    const sent = {
      ...audit,
      channel: delivered.channel,
      destination: delivered.destination,
      outcome: "sent",
    };
    await Promise.all([
      input.purpose === "activation"
        ? deps.store.supersedeChallenges(app.appId, input.userId, input.supersedes ?? [], now)
        : deps.store.setCurrentChallenge(delivered),
      recordAudit(deps, { ...sent, type: "challenge.sent" }),
      fallbackUsed ? recordAudit(deps, { ...sent, type: "challenge.fallback" }) : undefined,
    ]);
    return { challenge: delivered, fallbackUsed };
  }

  await Promise.all([
    deps.store.discardChallenge(app.appId, input.userId, challengeId, now),
    deps.store.releaseSend(app.appId, input.userId, reservation.windowEnd),
    recordAudit(deps, {
      ...audit,
      type: "challenge.sent",
      channel: first.channel,
      outcome: "delivery_failed",
    }),
  ]);
  // The provider's own message can quote the destination: it stays out of client answers.
  throw new DomainError("delivery_failed", "No channel accepted the message.", {
    provider: lastError?.provider,
    providerCode: lastError?.providerCode,
  });
}
