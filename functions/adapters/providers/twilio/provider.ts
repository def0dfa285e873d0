import type { SmsProvider } from "#core/ports";
import { TwilioSms, type TwilioSmsSettings } from "./twilio-sms.ts";

// The Twilio provider: SMS through the Messages API (the `twilio` package is loaded on the first
// send only). Its secret schema is `twilioSecret`; its rotate-and-retry is the shared one.
export { twilioSecret } from "./secret.ts";

/** Selected by `sms.provider: twilio`. */
export const createTwilioSms = (settings: TwilioSmsSettings): SmsProvider => new TwilioSms(settings);
