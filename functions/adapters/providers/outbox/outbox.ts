import { randomUUID } from "node:crypto";
import { generateNumericCode } from "#core/codes";
import type { AppConfig } from "#core/config";
import type { Delivery, OutgoingSms, SmsProvider, VerificationProvider } from "#core/ports";

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
  readonly kind = "message";
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

/**
 * Local stand-in for a provider that generates and checks codes itself (Sinch): the code
 * goes to the outbox like any SMS, and is checked here. Used only without Sinch credentials.
 */
export class OutboxVerification implements VerificationProvider {
  readonly kind = "verification";
  private readonly pending = new Map<string, { code: string; finished: boolean }>();

  constructor(private readonly outbox: Outbox) {}

  async start(
    input: { to: string },
    config: AppConfig,
  ): Promise<{ verificationId: string; provider: string }> {
    const code = generateNumericCode(config.code.length);
    const verificationId = `local-${randomUUID()}`;
    this.pending.set(verificationId, { code, finished: false });
    this.outbox.record({ channel: "sms", to: input.to, body: `Your verification code is ${code}.` });
    return { verificationId, provider: "local" };
  }

  /** Whether `verificationId` was started here (and not by the real provider). */
  owns(verificationId: string): boolean {
    return verificationId.startsWith("local-");
  }

  async report(verificationId: string, code: string): Promise<"approved" | "wrong_code" | "expired"> {
    const entry = this.pending.get(verificationId);
    if (!entry || entry.finished) return "expired";
    entry.finished = true;
    return entry.code === code ? "approved" : "wrong_code";
  }
}
