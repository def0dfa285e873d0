import type { AppConfig } from "./config.ts";
import { ProviderError } from "./errors.ts";
import type { CodeChannel } from "./model/user.ts";

/** What the app's config lacks for a channel to deliver: the path to set, in words. */
export interface SetupFault {
  channel: CodeChannel;
  /** The config path an admin sets to fix it. */
  path: string;
  /** Says what is missing; holds no address, number or secret. */
  message: string;
}

const NO_FROM_ADDRESS: SetupFault = {
  channel: "email",
  path: "email.fromAddress",
  message: "email.fromAddress is not set",
};

/** A Twilio app sends from the Messaging Service, a sender listing the destination's country, or the default sender. */
export const hasTwilioSender = (config: AppConfig): boolean =>
  config.sms.messagingServiceSid !== null ||
  config.sms.defaultSender !== null ||
  config.sms.senders.length > 0;

/**
 * What the config alone says stands in the way of delivering on `channel`; undefined when
 * nothing does (the provider may still refuse). A new app has no from-address and no sender:
 * such a send never reaches a provider, it fails as not configured (and fallback applies).
 * Twilio subaccounts in the secret add senders for their dialing codes, but every other
 * destination needs one of the config's.
 */
export function channelSetupFault(config: AppConfig, channel: CodeChannel): SetupFault | undefined {
  if (channel === "email") return config.email.fromAddress === null ? NO_FROM_ADDRESS : undefined;
  if (config.sms.provider === "twilio" && !hasTwilioSender(config)) {
    return {
      channel,
      path: "sms.defaultSender",
      message:
        "no SMS sender is set (sms.defaultSender, sms.senders and sms.messagingServiceSid are all empty)",
    };
  }
  return undefined;
}

/** A provider secret the app's config refers to, and where it does. */
export interface SecretReference {
  /** The provider whose credentials it holds (`twilio`, `sinch`). */
  provider: string;
  name: string;
  path: string;
}

/** The secret of the SMS provider the config selects (`local` needs none; SES uses the function's role). */
export function referencedSecrets(config: AppConfig): SecretReference[] {
  switch (config.sms.provider) {
    case "twilio":
      return [{ provider: "twilio", name: config.sms.secretName, path: "sms.secretName" }];
    case "sinch":
      return [{ provider: "sinch", name: config.sms.sinch.secretName, path: "sms.sinch.secretName" }];
    default:
      return [];
  }
}

/** Where an admin sees, per check, what stands between the app and its first delivered code. */
export const doctorPath = (appId: string): string => `/v1/admin/apps/${appId}/doctor`;

/** A setup fault as the failure of the channel's provider (not configured), so fallback applies as for any. */
export const setupFaultError = (config: AppConfig, fault: SetupFault): ProviderError =>
  new ProviderError(
    fault.channel === "email" ? config.email.provider : config.sms.provider,
    "not_configured",
    fault.message,
    "not_configured",
  );

/** The address mail goes out as; none set is the email channel's setup fault. */
export function fromAddressOf(config: AppConfig): string {
  const { fromAddress } = config.email;
  if (fromAddress === null) throw setupFaultError(config, NO_FROM_ADDRESS);
  return fromAddress;
}

/**
 * The `detail` of a `delivery_failed` whose channels were not configured: what is missing, and
 * where to look. `reasons` are the service's own words (config paths, secret names), never a
 * provider's message, which could quote the destination.
 */
export function notConfiguredDetail(appId: string, reasons: readonly string[]): string {
  return `No channel accepted the message: ${reasons.join("; ")}. GET ${doctorPath(appId)} lists what to fix.`;
}
