import * as z from "#core/schema";
import type { ProviderSecretSpec } from "../secret.ts";

const accountSid = z.string().check(z.regex(/^AC[0-9a-fA-F]{32}$/, "AC followed by 32 hex digits"));
const authToken = z.string().check(z.minLength(16), z.maxLength(128));

/**
 * The Twilio secret (`sms.secretName`, usually `twilio`): the main account, and subaccounts by
 * dialing code (a country code, or a longer prefix such as +1809 within a shared one).
 */
export const twilioSecretSchema = z.lazy(() =>
  z.strictObject({
    accountSid,
    authToken,
    subaccounts: z.optional(
      z
        .array(
          z.strictObject({
            dialingCode: z.string().check(z.regex(/^\+[1-9]\d{0,3}$/, "a dialing code such as +91 or +1809")),
            accountSid,
            authToken,
            senderPhone: z.string().check(z.regex(/^\+[1-9]\d{6,14}$/, "an E.164 phone number")),
          }),
        )
        .check(z.maxLength(50)),
    ),
  }),
);

export type TwilioSecret = z.infer<typeof twilioSecretSchema>;

export const twilioSecret: ProviderSecretSpec<TwilioSecret> = {
  provider: "twilio",
  label: "Twilio",
  defaultName: "twilio",
  marker: "accountSid",
  summary: "a Twilio secret { accountSid, authToken, subaccounts? }",
  schema: twilioSecretSchema,
  secretNameIn: (config) => config.sms.secretName,
};
