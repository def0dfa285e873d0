import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SesEmail } from "#adapters/providers/ses/ses-email";
import { SinchVerification } from "#adapters/providers/sinch/sinch-verification";
import { TwilioSms } from "#adapters/providers/twilio/twilio-sms";
import { Unconfigured } from "#adapters/providers/unconfigured";
import type { Secrets } from "#core/ports";
import { cloudRequestHandler, type Providers } from "./cloud-deps.ts";

/** Every provider: for the functions that send codes or test messages (send, enroll, admin-config). */
export function allProviders(secrets: Secrets): Providers {
  const email = new SesEmail(new SESv2Client({ maxAttempts: 2, requestHandler: cloudRequestHandler }));
  // Always api.twilio.com here: a base URL from the environment could send credentials elsewhere.
  const twilio = new TwilioSms({ secrets });
  const sinch = new SinchVerification({ secrets });
  const unconfigured = new Unconfigured();
  return {
    email: () => email,
    sms: (config) => (config.sms.provider === "twilio" ? twilio : unconfigured),
    smsVerification: () => sinch,
  };
}
