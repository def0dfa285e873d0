import { SESv2Client } from "@aws-sdk/client-sesv2";
import type { OfferedProviders } from "#adapters/providers/registry";
import { SesEmail } from "#adapters/providers/ses/ses-email";
import { SinchVerification } from "#adapters/providers/sinch/sinch-verification";
import { TwilioSms } from "#adapters/providers/twilio/twilio-sms";
import type { Secrets } from "#core/ports";
import { cloudRequestHandler } from "./cloud-deps.ts";

/** Every cloud provider: for the functions that send codes or test messages (send, enroll, admin-config). */
export function allProviders(secrets: Secrets): OfferedProviders {
  return {
    // Always api.twilio.com here: a base URL from the environment could send credentials elsewhere.
    sms: { twilio: new TwilioSms({ secrets }), sinch: new SinchVerification({ secrets }) },
    email: { ses: new SesEmail(new SESv2Client({ maxAttempts: 2, requestHandler: cloudRequestHandler })) },
  };
}
