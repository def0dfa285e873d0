import type { VerificationProvider } from "#core/ports";
import { SinchVerification, type SinchVerificationSettings } from "./sinch-verification.ts";

// The Sinch Verification API provider: Sinch makes, sends and checks the code. Its secret schema is
// `sinchSecret`; its rotate-and-retry is the shared one.
export { sinchSecret } from "./secret.ts";

/** Selected by `sms.provider: sinch`. */
export const createSinchVerification = (settings: SinchVerificationSettings): VerificationProvider =>
  new SinchVerification(settings);
