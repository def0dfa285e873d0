import type { OfferedProviders } from "#adapters/providers/registry";
import { createSinchVerification } from "#adapters/providers/sinch/provider";
import { createTwilioSms } from "#adapters/providers/twilio/provider";
import type { EmailProvider, Secrets } from "#core/ports";
import { once } from "./deps.ts";
import { type TraceClient, untraced } from "./tracing.ts";

/**
 * SES answers SendEmail in a few hundred ms. Two attempts of at most 1 s to connect and 1 s
 * without a byte (plus the SDK's backoff) end within the 5 s the use case gives one delivery step
 * (PROVIDER_TIMEOUT_MS), as Twilio's and Sinch's 4 s request deadlines do: a hanging provider costs
 * a send at most 5 s per step, 10 s with its fallback, inside send's 15 s function timeout and
 * API Gateway's 30 s. README "Operating it" turns this into concurrency.
 */
export const sesClientSettings = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_000 },
} as const;

/** Every cloud provider: for the functions that send codes or test messages (send, enroll, admin-config). */
export function allProviders(secrets: Secrets, trace: TraceClient = untraced): OfferedProviders {
  return {
    // Always api.twilio.com here: a base URL from the environment could send credentials elsewhere.
    sms: { twilio: createTwilioSms({ secrets }), sinch: createSinchVerification({ secrets }) },
    email: { ses: lazySesEmail(trace) },
  };
}

/**
 * The SES client (60 KiB of the bundle) is imported by the first email, not by every cold start:
 * a send of an SMS code never parses it. A failed import is retried by the next email.
 */
function lazySesEmail(trace: TraceClient): EmailProvider {
  const load = once(async () => {
    const [{ SESv2Client }, { createSesEmail }] = await Promise.all([
      import("@aws-sdk/client-sesv2"),
      import("#adapters/providers/ses/provider"),
    ]);
    return createSesEmail(trace(new SESv2Client({ ...sesClientSettings })));
  });
  return { sendEmail: async (message) => (await load()).sendEmail(message) };
}
