import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { EmailProvider } from "#core/ports";
import { SesEmail } from "./ses-email.ts";

// Email through SES v2 (or aws-ses-v2-local). Credentials come from the function's IAM role: no secret.

/** Selected by `email.provider: ses`. */
export const createSesEmail = (client: SESv2Client): EmailProvider => new SesEmail(client);
