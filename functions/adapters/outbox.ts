import { randomUUID } from "node:crypto";
import type { Delivery, OutgoingSms, SmsProvider } from "#core/ports";

export interface OutboxMessage {
  channel: "sms" | "email";
  to: string;
  body: string;
  subject?: string;
  at: string;
}

/**
 * The local stand-in for a phone: SMS "sent" by the local stack land here, are listed by
 * `/dev/outbox` and printed to the terminal. Never used in the cloud.
 */
export class Outbox implements SmsProvider {
  private readonly messages: OutboxMessage[] = [];

  constructor(private readonly settings: { print?: (line: string) => void } = {}) {}

  async sendSms(message: OutgoingSms): Promise<Delivery> {
    this.record({ channel: "sms", to: message.to, body: message.body });
    return { provider: "local", providerMessageId: `local-${randomUUID()}` };
  }

  record(message: Omit<OutboxMessage, "at">): void {
    const at = new Date().toISOString();
    this.messages.push({ ...message, at });
    this.settings.print?.(`[outbox] ${message.channel} to ${message.to}: ${message.body}`);
  }

  list(to?: string): OutboxMessage[] {
    return this.messages.filter((m) => to === undefined || m.to === to).reverse();
  }
}
