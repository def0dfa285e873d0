import type { DeliverySetup, EmailIdentityFact, EmailSandboxFact } from "#core/ports";

/**
 * The local stack's facts for the doctor route. Its SES (aws-ses-v2-local) implements neither
 * `GetEmailIdentity` nor a real `GetAccount`, and needs neither: it sends as any address and
 * delivers to every recipient (its mail viewer and the outbox). The notes say so. SMS
 * providers without their secret stand in with the outbox.
 */
export class LocalDeliverySetup implements DeliverySetup {
  /** Twilio and Sinch stand in with the outbox until their secret is saved (`createLocalProviders`). */
  readonly outboxUntilSecret = true;

  constructor(readonly offered: DeliverySetup["offered"]) {}

  async emailIdentity(fromAddress: string): Promise<EmailIdentityFact> {
    return {
      status: "verified",
      identity: fromAddress,
      note: "the local stack's SES sends as any address; in AWS the address or its domain must be a verified SES identity",
    };
  }

  async emailSandbox(): Promise<EmailSandboxFact> {
    return {
      sandbox: false,
      note: "the local stack has no sandbox: every recipient's mail reaches its outbox",
    };
  }
}
