import { SESv2Client } from "@aws-sdk/client-sesv2";
import type { OfferedProviders } from "#adapters/providers/registry";
import { createSesEmail } from "#adapters/providers/ses/provider";
import { createSinchVerification } from "#adapters/providers/sinch/provider";
import { createTwilioSms } from "#adapters/providers/twilio/provider";
import type { Secrets } from "#core/ports";
import { cloudRequestHandler } from "./cloud-deps.ts";

/** Every cloud provider: for the functions that send codes or test messages (send, enroll, admin-config). */
export function allProviders(secrets: Secrets): OfferedProviders {
  return {
    // Always api.twilio.com here: a base URL from the environment could send credentials elsewhere.
    sms: { twilio: createTwilioSms({ secrets }), sinch: createSinchVerification({ secrets }) },
    email: {
      ses: createSesEmail(new SESv2Client({ maxAttempts: 2, requestHandler: cloudRequestHandler })),
    },
  };
}
