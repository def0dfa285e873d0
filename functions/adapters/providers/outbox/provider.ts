import type { EmailProvider, Secrets, SmsProvider, VerificationProvider } from "#core/ports";
import type { OfferedProviders } from "../registry.ts";
import { sinchSecret } from "../sinch/secret.ts";
import { twilioSecret } from "../twilio/secret.ts";
import { OutboxUntilSecret, OutboxVerificationUntilSecret } from "./local-sms.ts";
import { type Outbox, OutboxVerification } from "./outbox.ts";
import { OutboxEmail } from "./outbox-email.ts";

// The local provider (`sms.provider: local`, `email.provider: local`): messages land in the outbox
// (`/dev/outbox`, the terminal). Never offered in the cloud.

/**
 * What the local stack offers, under the names an app's config uses: `local` is the outbox;
 * `twilio` and `sinch` are the real adapters once their secret is saved, the outbox until then;
 * `ses` is the real SES adapter (pointed at aws-ses-v2-local), recorded in the outbox too.
 */
export function createLocalProviders(parts: {
  secrets: Secrets;
  outbox: Outbox;
  twilio: SmsProvider;
  sinch: VerificationProvider;
  ses: EmailProvider;
}): OfferedProviders {
  const { secrets, outbox } = parts;
  return {
    sms: {
      twilio: new OutboxUntilSecret({ secrets, secret: twilioSecret, provider: parts.twilio, outbox }),
      sinch: new OutboxVerificationUntilSecret({
        secrets,
        secret: sinchSecret,
        provider: parts.sinch,
        outbox: new OutboxVerification(outbox),
      }),
      local: outbox,
    },
    email: { ses: new OutboxEmail(outbox, parts.ses), local: new OutboxEmail(outbox) },
  };
}
