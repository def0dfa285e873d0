import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SesDeliverySetup } from "#adapters/delivery-setup/ses-delivery-setup";
import { LOCAL_AWS, type LocalService, startSesLocal } from "#lib/local-services";

const OFFERED = { sms: ["twilio"], email: ["ses"] };

/**
 * SES v2's wire format for GetEmailIdentity, as its API reference documents it (REST-JSON:
 * `GET /v2/email/identities/{EmailIdentity}`; an unknown identity is a 404 with
 * `x-amzn-ErrorType: NotFoundException`). aws-ses-v2-local does not implement this call.
 */
const IDENTITIES: Record<string, { VerifiedForSendingStatus: boolean; VerificationStatus: string }> = {
  "verified.example": { VerifiedForSendingStatus: true, VerificationStatus: "SUCCESS" },
  "pending.example": { VerifiedForSendingStatus: false, VerificationStatus: "PENDING" },
  "broken.example": { VerifiedForSendingStatus: false, VerificationStatus: "FAILED" },
  "me@broken.example": { VerifiedForSendingStatus: false, VerificationStatus: "PENDING" },
  "me@unverified.example": { VerifiedForSendingStatus: false, VerificationStatus: "PENDING" },
  "ok@pending.example": { VerifiedForSendingStatus: true, VerificationStatus: "SUCCESS" },
};

let fakeSes: Server;
let fakeUrl: string;
const asked: string[] = [];

beforeAll(async () => {
  fakeSes = createServer((req, res) => {
    const match = /^\/v2\/email\/identities\/([^/?]+)$/.exec(req.url ?? "");
    const name = match?.[1] ? decodeURIComponent(match[1]) : "";
    asked.push(name);
    if (name === "denied.example" || name === "me@denied.example") {
      res.writeHead(403, { "content-type": "application/json", "x-amzn-errortype": "AccessDeniedException" });
      res.end(JSON.stringify({ message: "User is not authorized to perform: ses:GetEmailIdentity" }));
      return;
    }
    const identity = IDENTITIES[name];
    if (!identity) {
      res.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "NotFoundException" });
      res.end(JSON.stringify({ message: `Email identity ${name} does not exist.` }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        IdentityType: name.includes("@") ? "EMAIL_ADDRESS" : "DOMAIN",
        FeedbackForwardingStatus: true,
        ...identity,
        DkimAttributes: {
          SigningEnabled: true,
          Status: identity.VerificationStatus,
          Tokens: ["t1", "t2", "t3"],
        },
        Policies: {},
        Tags: [],
      }),
    );
  });
  await new Promise<void>((resolve) => fakeSes.listen(0, "127.0.0.1", resolve));
  fakeUrl = `http://127.0.0.1:${(fakeSes.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => fakeSes.close(() => resolve()));
});

const adapter = (endpoint: string) =>
  new SesDeliverySetup(new SESv2Client({ ...LOCAL_AWS, endpoint, maxAttempts: 1 }), OFFERED);

describe("SES identity status for the doctor (SDK against SES v2's documented wire format)", () => {
  it("an address of a verified domain is verified, by the domain, after asking for the address", async () => {
    asked.length = 0;
    expect(await adapter(fakeUrl).emailIdentity("no-reply@verified.example")).toEqual({
      status: "verified",
      identity: "verified.example",
    });
    expect(asked).toEqual(["no-reply@verified.example", "verified.example"]);
  });

  it("a verified address identity decides at once, even in a pending domain", async () => {
    asked.length = 0;
    expect(await adapter(fakeUrl).emailIdentity("ok@pending.example")).toEqual({
      status: "verified",
      identity: "ok@pending.example",
    });
    expect(asked).toEqual(["ok@pending.example"]);
  });

  it("pending and failed say which identity, with SES's VerificationStatus", async () => {
    expect(await adapter(fakeUrl).emailIdentity("x@pending.example")).toEqual({
      status: "pending",
      identity: "pending.example",
      note: "VerificationStatus PENDING",
    });
    expect(await adapter(fakeUrl).emailIdentity("x@broken.example")).toMatchObject({
      status: "failed",
      identity: "broken.example",
    });
    // The address's own (pending) identity says more than an absent domain.
    expect(await adapter(fakeUrl).emailIdentity("me@unverified.example")).toMatchObject({
      status: "pending",
      identity: "me@unverified.example",
    });
  });

  it("neither the address nor the domain: not_found; no permission: unknown, naming the error", async () => {
    expect(await adapter(fakeUrl).emailIdentity("x@nowhere.example")).toEqual({
      status: "not_found",
      identity: "nowhere.example",
    });
    expect(await adapter(fakeUrl).emailIdentity("me@denied.example")).toEqual({
      status: "unknown",
      identity: "me@denied.example",
      note: "GetEmailIdentity failed: AccessDeniedException",
    });
  });
});

describe("SES sandbox for the doctor (GetAccount on aws-ses-v2-local)", () => {
  let ses: LocalService | undefined;
  const account = (productionAccess: boolean, sendingEnabled: boolean) => ({
    DedicatedIpAutoWarmupEnabled: false,
    Details: {
      AdditionalContactEmailAddresses: [],
      ContactLanguage: "EN",
      MailType: "TRANSACTIONAL",
      ReviewDetails: { CaseId: "1", Status: productionAccess ? "GRANTED" : "PENDING" },
      UseCaseDescription: "one-time codes",
      WebsiteURL: "https://shop.example",
    },
    EnforcementStatus: sendingEnabled ? "HEALTHY" : "SHUTDOWN",
    ProductionAccessEnabled: productionAccess,
    SendingEnabled: sendingEnabled,
    SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 },
    SuppressionAttributes: { SuppressedReasons: [] },
  });

  /** aws-ses-v2-local answers GetAccount with the account in its AWS_SES_ACCOUNT environment variable. */
  async function sesWith(value: object | undefined): Promise<string> {
    await ses?.stop();
    const saved = process.env.AWS_SES_ACCOUNT;
    if (value === undefined) delete process.env.AWS_SES_ACCOUNT;
    else process.env.AWS_SES_ACCOUNT = JSON.stringify(value);
    try {
      ses = await startSesLocal();
    } finally {
      if (saved === undefined) delete process.env.AWS_SES_ACCOUNT;
      else process.env.AWS_SES_ACCOUNT = saved;
    }
    return ses.url;
  }

  afterAll(async () => {
    await ses?.stop();
  });

  it("ProductionAccessEnabled false is the sandbox; true is not", async () => {
    expect(await adapter(await sesWith(account(false, true))).emailSandbox()).toEqual({ sandbox: true });
    expect(await adapter(await sesWith(account(true, true))).emailSandbox()).toEqual({ sandbox: false });
  });

  it("says when sending is paused, and unknown when GetAccount fails", async () => {
    expect(await adapter(await sesWith(account(true, false))).emailSandbox()).toEqual({
      sandbox: false,
      note: "sending is paused for this account (EnforcementStatus SHUTDOWN)",
    });
    const failed = await adapter(await sesWith(undefined)).emailSandbox();
    expect(failed).toMatchObject({
      sandbox: "unknown",
      note: expect.stringMatching(/^GetAccount failed: \w+/),
    });
  });

  it("aws-ses-v2-local has no GetEmailIdentity: the adapter reports unknown, not verified", async () => {
    const url = await sesWith(account(true, true));
    // Its 404 is an XML body the SDK cannot parse as SES's error: neither verified nor not_found.
    expect(await adapter(url).emailIdentity("no-reply@shop.example")).toMatchObject({
      status: "unknown",
      identity: "no-reply@shop.example",
      note: expect.stringContaining("GetEmailIdentity failed"),
    });
  });
});
