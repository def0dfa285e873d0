import {
  GetAccountCommand,
  type GetAccountCommandOutput,
  GetEmailIdentityCommand,
  type GetEmailIdentityCommandOutput,
  type SESv2Client,
} from "@aws-sdk/client-sesv2";
import type { DeliverySetup, EmailIdentityFact, EmailIdentityStatus, EmailSandboxFact } from "#core/ports";

/**
 * What SES v2 says about sending for the doctor route: `GetEmailIdentity` for the from-address
 * and then its domain (either verified lets mail go out as the address), `GetAccount` for the
 * sandbox. Needs `ses:GetEmailIdentity` and `ses:GetAccount`; only the admin function has it.
 */
export class SesDeliverySetup implements DeliverySetup {
  constructor(
    private readonly client: SESv2Client,
    readonly offered: DeliverySetup["offered"],
  ) {}

  async emailIdentity(fromAddress: string): Promise<EmailIdentityFact> {
    const address = await this.identity(fromAddress);
    if (address.status === "verified") return address;
    const domain = await this.identity(fromAddress.slice(fromAddress.lastIndexOf("@") + 1));
    // An address identity that exists (pending, failed) says more than its domain's absence.
    return domain.status === "verified" || address.status === "not_found" ? domain : address;
  }

  async emailSandbox(): Promise<EmailSandboxFact> {
    try {
      return sandboxOf(await this.client.send(new GetAccountCommand({})));
    } catch (error) {
      return { sandbox: "unknown", note: `GetAccount failed: ${nameOf(error)}` };
    }
  }

  private async identity(name: string): Promise<EmailIdentityFact> {
    try {
      const found = await this.client.send(new GetEmailIdentityCommand({ EmailIdentity: name }));
      return identityOf(name, found);
    } catch (error) {
      if (nameOf(error) === "NotFoundException") return { status: "not_found", identity: name };
      return { status: "unknown", identity: name, note: `GetEmailIdentity failed: ${nameOf(error)}` };
    }
  }
}

/** `VerifiedForSendingStatus` decides; `VerificationStatus` says why not. */
export function identityOf(
  identity: string,
  output: Pick<GetEmailIdentityCommandOutput, "VerifiedForSendingStatus" | "VerificationStatus">,
): EmailIdentityFact {
  if (output.VerifiedForSendingStatus === true) return { status: "verified", identity };
  const byStatus: Record<string, EmailIdentityStatus> = {
    FAILED: "failed",
    PENDING: "pending",
    NOT_STARTED: "pending",
    TEMPORARY_FAILURE: "pending",
    SUCCESS: "pending",
  };
  const reason = output.VerificationStatus;
  return {
    status: (reason && byStatus[reason]) ?? "unknown",
    identity,
    ...(reason ? { note: `VerificationStatus ${reason}` } : {}),
  };
}

/** `ProductionAccessEnabled: false` is the sandbox; paused sending is worth saying too. */
export function sandboxOf(
  output: Pick<GetAccountCommandOutput, "ProductionAccessEnabled" | "SendingEnabled" | "EnforcementStatus">,
): EmailSandboxFact {
  const paused =
    output.SendingEnabled === false
      ? `sending is paused for this account (EnforcementStatus ${output.EnforcementStatus ?? "unknown"})`
      : undefined;
  const sandbox =
    typeof output.ProductionAccessEnabled === "boolean" ? !output.ProductionAccessEnabled : "unknown";
  return { sandbox, ...(paused ? { note: paused } : {}) };
}

const nameOf = (error: unknown): string => (error instanceof Error ? error.name : "Error");
