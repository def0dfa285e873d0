import type { AppConfig } from "./config.ts";
import { channelSetupFault, type SecretReference } from "./delivery-setup.ts";
import type { CodeChannel } from "./model/user.ts";
import { channelOrder } from "./policy.ts";
import type { EmailIdentityFact, EmailSandboxFact } from "./ports.ts";

/**
 * One thing that stands, or not, between an app and its first delivered code. `blocking`:
 * whether `ok: false` makes the app not ready (a channel the policy does not use, or the SES
 * sandbox, only warns).
 */
export interface DoctorCheck {
  id: DoctorCheckId;
  ok: boolean;
  blocking: boolean;
  detail: string;
  fix?: string;
}

/** The stable check ids, in the order they are reported (README "Is the app ready?"). */
export type DoctorCheckId =
  | "config.valid"
  | "email.provider"
  | "email.from_address"
  | "email.identity"
  | "email.sandbox"
  | "sms.provider"
  | "sms.sender"
  | `secret.${string}`
  | "webauthn.origins";

export interface DoctorReport {
  ready: boolean;
  checks: DoctorCheck[];
}

/** A referenced provider secret as the secrets store has it; `problems` name fields, never values. */
export type SecretFact = SecretReference &
  (
    | { state: "set" }
    | { state: "missing" }
    | { state: "unreadable" }
    | { state: "invalid"; problems: string[] }
  );

/** What the deployment says, gathered by the use case (`undefined`: not asked, since it did not matter). */
export interface DoctorFacts {
  offered: { readonly sms: readonly string[]; readonly email: readonly string[] };
  /** A missing provider secret means "outbox" here (the local stack), not "no SMS". */
  outboxUntilSecret?: boolean;
  emailIdentity?: EmailIdentityFact;
  emailSandbox?: EmailSandboxFact;
  secrets: SecretFact[];
}

/** Quoted for a POSIX shell: pasted as is, `<…>` is no redirection and `["…"]` keeps its quotes. */
const patch = (appId: string, path: string, value: string): string =>
  `npm run admin -- config patch ${appId} --set '${`${path}=${value}`.replaceAll("'", "'\\''")}'`;

const unused = (channel: CodeChannel): string =>
  ` (${channel} is not mfa.primaryMethod or mfa.fallbackMethod, so this does not block; enrolling ${channel === "sms" ? "an SMS" : "an email"} factor would fail)`;

/**
 * The doctor: the app's config and the deployment's facts, turned into checks. `ready` is
 * true when every blocking check is ok, i.e. a code can go out on each channel the policy
 * uses (`mfa.primaryMethod`, and `mfa.fallbackMethod` unless `none`).
 */
export function diagnose(appId: string, config: AppConfig, facts: DoctorFacts): DoctorReport {
  const inUse = new Set(channelOrder(config, "auto"));
  const checks = [
    ...emailChecks(appId, config, facts, inUse.has("email")),
    ...smsChecks(appId, config, facts, inUse.has("sms")),
    webauthnCheck(appId, config),
  ];
  return {
    ready: checks.every((c) => c.ok || !c.blocking),
    // One key order for every check, as the README lists them.
    checks: checks.map(({ id, ok, blocking, detail, fix }) => ({
      id,
      ok,
      blocking,
      detail,
      ...(fix === undefined ? {} : { fix }),
    })),
  };
}

/** A stored config that no longer validates: nothing can be checked, and the app's routes answer 503. */
export function diagnoseInvalidConfig(appId: string, paths: readonly string[]): DoctorReport {
  return {
    ready: false,
    checks: [
      {
        id: "config.valid",
        ok: false,
        blocking: true,
        detail: `the stored configuration does not validate at ${paths.join(", ")}: the app's routes answer 503 until it is replaced`,
        fix: `npm run admin -- config get ${appId} shows the stored document; correct those fields with npm run admin -- config patch ${appId} --set '<path>=<value>' (or PUT a whole corrected document)`,
      },
    ],
  };
}

function emailChecks(appId: string, config: AppConfig, facts: DoctorFacts, used: boolean): DoctorCheck[] {
  const { provider, fromAddress } = config.email;
  const note = used ? "" : unused("email");
  const offered = facts.offered.email.includes(provider);
  const checks: DoctorCheck[] = [
    {
      id: "email.provider",
      ok: offered,
      blocking: used,
      detail: offered
        ? `email.provider is ${provider}`
        : `email.provider ${provider} is not offered by this deployment (it offers ${list(facts.offered.email)})${note}`,
      ...(offered ? {} : { fix: patch(appId, "email.provider", facts.offered.email[0] ?? "ses") }),
    },
    fromAddress === null
      ? {
          id: "email.from_address",
          ok: false,
          blocking: used,
          detail: `email.fromAddress is not set: no email is sent${note}`,
          fix: patch(appId, "email.fromAddress", "no-reply@<your verified domain>"),
        }
      : { id: "email.from_address", ok: true, blocking: used, detail: `email.fromAddress is ${fromAddress}` },
  ];
  if (provider !== "ses") {
    checks.push(
      {
        id: "email.identity",
        ok: true,
        blocking: used,
        detail: `email.provider ${provider} sends as any address: no SES identity is needed`,
      },
      { id: "email.sandbox", ok: true, blocking: false, detail: `email.provider ${provider} has no sandbox` },
    );
    return checks;
  }
  checks.push(identityCheck(fromAddress, facts.emailIdentity, used, note), sandboxCheck(facts.emailSandbox));
  return checks;
}

function identityCheck(
  fromAddress: string | null,
  fact: EmailIdentityFact | undefined,
  used: boolean,
  note: string,
): DoctorCheck {
  const base = { id: "email.identity" as const, blocking: used };
  if (fromAddress === null || fact === undefined) {
    return { ...base, ok: false, detail: `nothing to check until email.fromAddress is set${note}` };
  }
  const domain = fromAddress.slice(fromAddress.lastIndexOf("@") + 1);
  const said = fact.note ? ` (${fact.note})` : "";
  const identity = fact.identity ?? domain;
  switch (fact.status) {
    case "verified":
      return { ...base, ok: true, detail: `SES identity ${identity} is verified for sending${said}` };
    case "pending":
      return {
        ...base,
        ok: false,
        detail: `SES identity ${identity} is not verified yet${said}${note}`,
        fix: `publish the identity's DKIM CNAME records (domain) or open the confirmation link SES mailed (address); aws sesv2 get-email-identity --email-identity ${identity} shows its state`,
      };
    case "failed":
      return {
        ...base,
        ok: false,
        detail: `SES could not verify identity ${identity}${said}${note}`,
        fix: `check the DKIM CNAME records of ${identity} in DNS, then aws sesv2 delete-email-identity and create-email-identity --email-identity ${identity} to try again`,
      };
    case "not_found":
      return {
        ...base,
        ok: false,
        detail: `SES has no identity for ${fromAddress} or ${domain}: SES refuses to send as it${said}${note}`,
        fix: `cdk deploy -c sesIdentity=${domain} (or aws sesv2 create-email-identity --email-identity ${domain}), then publish the DKIM records it outputs`,
      };
    default:
      return {
        ...base,
        ok: false,
        detail: `the SES identity of ${fromAddress} could not be checked${said}${note}`,
        fix: "the admin function needs ses:GetEmailIdentity; or check the identity in the SES console",
      };
  }
}

function sandboxCheck(fact: EmailSandboxFact | undefined): DoctorCheck {
  const base = { id: "email.sandbox" as const, blocking: false };
  const said = fact?.note ? ` (${fact.note})` : "";
  if (fact?.sandbox === false) return { ...base, ok: true, detail: `SES is not in the sandbox${said}` };
  if (fact?.sandbox === true) {
    return {
      ...base,
      ok: false,
      detail: `SES is in the sandbox: only verified recipients get mail, at most 200 a day${said}`,
      fix: "request production access: SES console, Account dashboard, Request production access (aws sesv2 put-account-details)",
    };
  }
  return {
    ...base,
    ok: false,
    detail: `whether SES is in the sandbox could not be checked${said}`,
    fix: "the admin function needs ses:GetAccount; or look at the SES console's Account dashboard",
  };
}

function smsChecks(appId: string, config: AppConfig, facts: DoctorFacts, used: boolean): DoctorCheck[] {
  const { provider } = config.sms;
  const note = used ? "" : unused("sms");
  const offered = facts.offered.sms.includes(provider);
  const checks: DoctorCheck[] = [
    {
      id: "sms.provider",
      ok: offered,
      blocking: used,
      detail: offered
        ? `sms.provider is ${provider}`
        : `sms.provider ${provider} is not offered by this deployment (it offers ${list(facts.offered.sms)})${note}`,
      ...(offered ? {} : { fix: patch(appId, "sms.provider", facts.offered.sms[0] ?? "twilio") }),
    },
    senderCheck(appId, config, used, note),
  ];
  for (const secret of facts.secrets) checks.push(secretCheck(secret, used, note, facts.outboxUntilSecret));
  return checks;
}

function senderCheck(appId: string, config: AppConfig, used: boolean, note: string): DoctorCheck {
  const base = { id: "sms.sender" as const, blocking: used };
  const { provider, messagingServiceSid, defaultSender, senders, allowedCountries } = config.sms;
  if (provider !== "twilio") {
    const how =
      provider === "sinch" ? "Sinch sends from its own numbers" : "the local outbox needs no sender";
    return { ...base, ok: true, detail: `sms.provider ${provider}: ${how}` };
  }
  const fault = channelSetupFault(config, "sms");
  if (fault) {
    return {
      ...base,
      ok: false,
      detail: `${fault.message}: no SMS is sent${note}`,
      fix: `${patch(appId, "sms.defaultSender", "+<your Twilio number>")} (or set sms.messagingServiceSid or sms.senders)`,
    };
  }
  if (messagingServiceSid !== null) {
    return { ...base, ok: true, detail: `SMS go out through Messaging Service ${messagingServiceSid}` };
  }
  if (defaultSender !== null) return { ...base, ok: true, detail: `sms.defaultSender is ${defaultSender}` };
  // Only per-country senders: destinations in other allowed countries have none.
  const covered = new Set(senders.flatMap((s) => s.countries));
  const anywhere = allowedCountries.includes("*");
  const uncovered = allowedCountries.filter((c) => c !== "*" && !covered.has(c));
  if (!anywhere && uncovered.length === 0) {
    return { ...base, ok: true, detail: `sms.senders cover every allowed country (${list([...covered])})` };
  }
  return {
    ...base,
    ok: false,
    // Codes to the covered countries still go out: a warning, not a block.
    blocking: false,
    detail: `sms.senders cover ${list([...covered])} only: SMS to ${anywhere ? "other countries" : list(uncovered)} have no sender (sms.defaultSender is not set)`,
    fix: patch(appId, "sms.defaultSender", "+<your Twilio number>"),
  };
}

function secretCheck(
  secret: SecretFact,
  used: boolean,
  note: string,
  outboxUntilSecret = false,
): DoctorCheck {
  const base = { id: `secret.${secret.provider}` as const, blocking: used };
  const fix = `npm run admin -- secrets set ${secret.name} (or PUT /v1/admin/secrets/${secret.name})`;
  const named = `the ${secret.provider} secret "${secret.name}" (${secret.path})`;
  switch (secret.state) {
    case "set":
      return { ...base, ok: true, detail: `${named} is set` };
    case "missing":
      return outboxUntilSecret
        ? { ...base, ok: true, detail: `${named} is not set: SMS go to the local outbox until it is` }
        : { ...base, ok: false, detail: `${named} is not set${note}`, fix };
    case "invalid":
      return {
        ...base,
        ok: false,
        detail: `${named} does not fit its schema at ${secret.problems.join(", ")}${note}`,
        fix,
      };
    default:
      return {
        ...base,
        ok: false,
        detail: `${named} could not be read${note}`,
        fix: "the admin function needs secretsmanager:GetSecretValue on it",
      };
  }
}

function webauthnCheck(appId: string, config: AppConfig): DoctorCheck {
  const { rpId, origins } = config.webauthn;
  if (rpId === null) {
    return {
      id: "webauthn.origins",
      ok: true,
      blocking: false,
      detail:
        "WebAuthn is not set up (webauthn.rpId is not set): enrolling a passkey answers 400 webauthn_not_configured",
    };
  }
  // The config schema refuses an rpId without origins; a stored one could still lack them.
  const ok = origins.length > 0;
  return {
    id: "webauthn.origins",
    ok,
    blocking: true,
    detail: ok
      ? `WebAuthn for ${rpId} from ${list(origins)}`
      : `webauthn.rpId is ${rpId} but webauthn.origins is empty: no browser can register a key`,
    ...(ok ? {} : { fix: patch(appId, "webauthn.origins", `["https://login.${rpId}"]`) }),
  };
}

const list = (items: readonly string[]): string => (items.length > 0 ? items.join(", ") : "none");
