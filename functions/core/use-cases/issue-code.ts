import { recordAudit } from "../audit.ts";
import { challengeCodeHash, generateNumericCode } from "../codes.ts";
import { channelSetupFault, fromAddressOf, notConfiguredDetail, setupFaultError } from "../delivery-setup.ts";
import { DomainError, ProviderError, StoreUnavailable } from "../errors.ts";
import type { ChallengePurpose, ChallengeSlot, CodeChannel, FactorRecord, UserState } from "../model/user.ts";
import { lockedError, minutesOf, PROVIDER_TIMEOUT_MS, rateLimitedError, withTimeout } from "../policy.ts";
import type { Deps } from "../ports.ts";
import { registerSlot } from "../register-slot.ts";
import { newChallengeId, slotKey } from "../rules/challenges.ts";
import { giveBackSend, reserveSend } from "../rules/sends.ts";
import { renderTemplate, templatesFor } from "../templates.ts";
import type { AppContext } from "./app-config.ts";
import { admitSms, smsBlockedError } from "./sms-protection.ts";

export interface CodeTarget {
  channel: CodeChannel;
  factor: FactorRecord;
}

/** Why the code went to another channel than the preferred one. */
export type FallbackReason = "sms_protection" | "delivery_failed" | "no_factor";

export interface IssuedCode {
  challenge: ChallengeSlot;
  fallbackUsed: boolean;
  fallbackReason?: FallbackReason;
}

/** Bound on compare-and-set rounds under contention; each refused round brings the item back, so none reads again. */
const MAX_ROUNDS = 50;

/**
 * Sends one code to the first target whose provider accepts it, trying the next on refusal,
 * error or timeout. Before the provider: the user item as read, and one conditional write
 * counting the send. After: the code becomes the current one of its slot (a newer one
 * wins) beside the audit event. A send that no provider accepted is given back.
 */
export async function issueCode(
  deps: Deps,
  ctx: AppContext,
  input: {
    userId: string;
    purpose: ChallengePurpose;
    targets: readonly CodeTarget[];
    locale?: string;
    /** For the audit trail: the end user's IP when the client app sent it, else the caller's. */
    ip?: string;
    /** The end user's IP as the client app sent it: SMS protection's per-IP limits count it. */
    clientIp?: string;
    /** The channel the policy wanted first; any other one that carries the code is a fallback. */
    preferredChannel?: CodeChannel;
    /** The user item as the caller just read it (consistently). */
    observed: UserState | undefined;
  },
): Promise<IssuedCode> {
  const [first] = input.targets;
  if (!first) throw new DomainError("no_factor", "The user has no active factor to send a code to.");
  const { config, app } = ctx;
  const { appId } = app;
  const audit = { appId, userId: input.userId, ip: input.ip };
  const now = deps.clock.now();
  const windowEnd = await reserve(deps, ctx, input.userId, input.observed, now, async (outcome) => {
    await recordAudit(deps, { ...audit, type: "challenge.sent", channel: first.channel, outcome });
  });

  const { pepper } = await deps.secrets.serviceSecret();
  const challengeId = newChallengeId(pepper, appId, input.userId, input.purpose);
  const code = generateNumericCode(config.code.length);
  const text = templatesFor(config, input.locale);
  const values = { app: config.totp.issuer ?? app.name, code, minutes: minutesOf(config.code.ttlSeconds) };

  const deliver = async (
    target: CodeTarget,
    address: string,
    country: string | undefined,
  ): Promise<string | undefined> => {
    if (target.channel === "email") {
      await deps.email(config).sendEmail({
        to: address,
        fromAddress: fromAddressOf(config),
        fromName: config.email.fromName ?? app.name,
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
    await sms.sendSms(
      { to: address, body: renderTemplate(text.sms, values), ...(country ? { country } : {}) },
      config,
    );
    return undefined;
  };

  let lastError: ProviderError | undefined;
  let blocked: Extract<Awaited<ReturnType<typeof admitSms>>, { kind: "refused" }> | undefined;
  let skipped: FallbackReason | undefined;
  let storeFault: unknown;
  /** Why channels were not configured, in the service's own words: the 502 says so. */
  const notConfigured: string[] = [];
  for (const [index, target] of input.targets.entries()) {
    let verificationId: string | undefined;
    const address = target.factor.address;
    // A channel the config cannot deliver on never reaches its provider (or SMS protection's counters).
    const fault = channelSetupFault(config, target.channel);
    if (fault) {
      lastError = setupFaultError(config, fault);
      notConfigured.push(`${target.channel}: ${fault.message}`);
      skipped ??= "delivery_failed";
      continue;
    }
    // SMS protection decides before any SMS leaves; a refused one is never sent.
    let admission: Awaited<ReturnType<typeof admitSms>> | undefined;
    try {
      admission =
        target.channel === "sms" && address
          ? await admitSms(deps, ctx, {
              userId: input.userId,
              to: address,
              destination: target.factor.destination,
              clientIp: input.clientIp,
              country: target.factor.country,
            })
          : undefined;
    } catch (error) {
      // Its counters are out of reach: no unprotected SMS, but the next channel may still carry the code.
      storeFault = error;
      skipped ??= "sms_protection";
      continue;
    }
    if (admission?.kind === "refused") {
      blocked = admission;
      skipped ??= "sms_protection";
      continue;
    }
    try {
      if (!address) throw new ProviderError(target.channel, "no_address", "factor has no address");
      verificationId = await withTimeout(
        deliver(target, address, admission?.kind === "admitted" ? admission.country : target.factor.country),
        PROVIDER_TIMEOUT_MS,
        target.channel,
      );
    } catch (error) {
      // Whatever went wrong inside a provider adapter, that channel failed: try the next one.
      lastError =
        error instanceof ProviderError
          ? error
          : new ProviderError(target.channel, "error", "the provider adapter failed", "unavailable");
      // Adapters word "not configured" themselves (a secret not set, no sender for a country): safe to show.
      if (lastError.kind === "not_configured") notConfigured.push(`${target.channel}: ${lastError.message}`);
      skipped ??= "delivery_failed";
      await admission?.release();
      continue;
    }
    const slot: ChallengeSlot = {
      id: challengeId,
      hash: verificationId === undefined ? challengeCodeHash(pepper, appId, challengeId, code) : "",
      factorId: target.factor.factorId,
      channel: target.channel,
      purpose: input.purpose,
      destination: target.factor.destination,
      createdAt: now,
      expiresAt: now + config.code.ttlSeconds * 1000,
      ...(verificationId === undefined ? {} : { verificationId }),
      ...(admission ? { country: admission.country } : {}),
    };
    const fallbackUsed = target.channel !== (input.preferredChannel ?? first.channel) || index > 0;
    const fallbackReason = fallbackUsed ? (skipped ?? "no_factor") : undefined;
    const sent = { ...audit, channel: slot.channel, destination: slot.destination, outcome: "sent" };
    await Promise.all([
      registerSlot(
        deps,
        appId,
        input.userId,
        slotKey(input.purpose, target.factor.type),
        slot,
        input.observed,
      ),
      recordAudit(deps, { ...sent, type: "challenge.sent" }),
      admission?.kind === "admitted" ? admission.confirm() : undefined,
      fallbackUsed ? recordAudit(deps, { ...sent, type: "challenge.fallback" }) : undefined,
    ]);
    return { challenge: slot, fallbackUsed, ...(fallbackReason ? { fallbackReason } : {}) };
  }
  // Only SMS protection stood in the way: the caller learns which limit, and when to try again.
  const onlyBlocked = blocked !== undefined && lastError === undefined;

  await Promise.all([
    deps.store.writeUserState(appId, input.userId, giveBackSend(windowEnd)),
    recordAudit(deps, {
      ...audit,
      type: "challenge.sent",
      channel: first.channel,
      outcome: storeFault !== undefined ? "unavailable" : onlyBlocked ? "sms_blocked" : "delivery_failed",
    }),
  ]);
  if (storeFault !== undefined) throw storeFault;
  if (onlyBlocked && blocked) throw smsBlockedError(blocked, deps.clock.now());
  // The provider's own message can quote the destination: it stays out of client answers.
  const detail =
    notConfigured.length > 0 ? notConfiguredDetail(appId, notConfigured) : "No channel accepted the message.";
  throw new DomainError("delivery_failed", detail, {
    provider: lastError?.provider,
    providerCode: lastError?.providerCode,
  });
}

/** Counts the send (compare-and-set on the item as read; a refused round decides again on the item it returns). */
async function reserve(
  deps: Deps,
  ctx: AppContext,
  userId: string,
  observed: UserState | undefined,
  now: number,
  refused: (outcome: "locked" | "rate_limited") => Promise<void>,
): Promise<number> {
  const policy = {
    maxCodeRequests: ctx.config.limits.maxCodeRequests,
    windowSeconds: ctx.config.limits.requestTimeoutSeconds,
  };
  let state = observed;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const decision = reserveSend(state, policy, now);
    if (decision.kind === "locked") {
      await refused("locked");
      throw lockedError(decision.until);
    }
    if (decision.kind === "rate_limited") {
      await refused("rate_limited");
      throw rateLimitedError(decision.retryAt, now);
    }
    const written = await deps.store.writeUserState(ctx.app.appId, userId, decision.write);
    if (written.ok) return decision.windowEnd;
    state = written.state;
  }
  throw new StoreUnavailable("reserveSend: too much contention");
}
