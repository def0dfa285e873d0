import { type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { ProviderError } from "#core/errors";
import type { Delivery, EmailProvider, OutgoingEmail } from "#core/ports";

/** Email through SES v2 (or aws-ses-v2-local, same API): text and HTML parts from the app's templates. */
export class SesEmail implements EmailProvider {
  constructor(private readonly client: SESv2Client) {}

  async sendEmail(message: OutgoingEmail): Promise<Delivery> {
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: `"${message.fromName.replace(/["\\\r\n]/g, "")}" <${message.fromAddress}>`,
          Destination: { ToAddresses: [message.to] },
          ConfigurationSetName: message.configurationSet ?? undefined,
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: "UTF-8" },
              Body: {
                Text: { Data: message.text, Charset: "UTF-8" },
                Html: { Data: message.html, Charset: "UTF-8" },
              },
            },
          },
        }),
      );
      return { provider: "ses", providerMessageId: result.MessageId ?? "" };
    } catch (error) {
      throw toProviderError(error);
    }
  }
}

function toProviderError(error: unknown): ProviderError {
  const name = error instanceof Error ? error.name : "Error";
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // SDK messages name the request, never its content; keep only the first line.
  const message = (error instanceof Error ? error.message : "send failed").split("\n")[0] ?? "send failed";
  const kind =
    name === "AccessDeniedException" || name === "UnrecognizedClientException" || status === 403
      ? "auth"
      : status === undefined || status >= 500 || name === "TooManyRequestsException"
        ? "unavailable"
        : "rejected";
  return new ProviderError("ses", name, message, kind);
}
