import type { Delivery, EmailProvider, OutgoingEmail } from "#core/ports";
import type { Outbox } from "./outbox.ts";

/**
 * Local email: records each message in the outbox, after handing it to `forward` (the real
 * SES adapter pointed at aws-ses-v2-local) when given; without it the outbox is the only sink.
 */
export class OutboxEmail implements EmailProvider {
  constructor(
    private readonly outbox: Outbox,
    private readonly forward?: EmailProvider,
  ) {}

  async sendEmail(message: OutgoingEmail): Promise<Delivery> {
    const delivery = this.forward
      ? await this.forward.sendEmail(message)
      : { provider: "local", providerMessageId: `local-${Date.now()}` };
    this.outbox.record({ channel: "email", to: message.to, subject: message.subject, body: message.text });
    return delivery;
  }
}
