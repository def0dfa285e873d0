// Types only: erased at compile time, so importing this module never loads twilio.
import type TwilioSdk from "twilio";
import type { AppConfig } from "#core/config";
import { ProviderError } from "#core/errors";
import { countryOf } from "#core/phone";
import type { Delivery, OutgoingSms, Secrets, SmsProvider } from "#core/ports";
import { readProviderSecret } from "../secret.ts";

type TwilioModule = typeof TwilioSdk;
type HttpClient = NonNullable<TwilioSdk.ClientOpts["httpClient"]>;

export interface TwilioSmsSettings {
  secrets: Secrets;
  /** Replaces `https://api.twilio.com` (env `OTP_TWILIO_API_URL`; tests and the local stack only). */
  apiBaseUrl?: string;
  /** Per request, default 5000 ms. */
  timeoutMs?: number;
}

/** One Twilio account (the main account or a subaccount): its SID and Auth Token. */
export interface TwilioAccount {
  accountSid: string;
  authToken: string;
}

/** The secret named by `sms.secretName`. */
export interface TwilioSecret extends TwilioAccount {
  subaccounts: Array<TwilioAccount & { dialingCode: string; senderPhone: string }>;
}

/** Where a message goes out: the account it is created under and exactly one sender. */
export type TwilioRoute = { account: TwilioAccount } & (
  | { from: string; messagingServiceSid?: undefined }
  | { messagingServiceSid: string; from?: undefined }
);

const PROVIDER = "twilio";
const DEFAULT_TIMEOUT_MS = 5000;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const DIALING_CODE = /^\+[1-9]\d{0,5}$/;

const notConfigured = (message: string): ProviderError =>
  new ProviderError(PROVIDER, "not_configured", message, "not_configured");

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/** Validates the stored secret; never echoes a value back in the error. */
export function parseTwilioSecret(name: string, raw: Record<string, unknown> | undefined): TwilioSecret {
  if (raw === undefined) throw notConfigured(`the Twilio secret "${name}" is not set`);
  const invalid = (what: string) => notConfigured(`the Twilio secret "${name}" is invalid: ${what}`);
  const { accountSid, authToken, subaccounts = [] } = raw;
  if (!nonEmpty(accountSid) || !ACCOUNT_SID.test(accountSid)) throw invalid("accountSid must be AC + 32 hex");
  if (!nonEmpty(authToken)) throw invalid("authToken is required");
  if (!Array.isArray(subaccounts)) throw invalid("subaccounts must be a list");
  const subs = subaccounts.map((sub: unknown, i) => {
    if (!isRecord(sub)) throw invalid(`subaccounts.${i} must be an object`);
    const { dialingCode, accountSid: sid, authToken: token, senderPhone } = sub;
    if (!nonEmpty(dialingCode) || !DIALING_CODE.test(dialingCode))
      throw invalid(`subaccounts.${i}.dialingCode must look like +91`);
    if (!nonEmpty(sid) || !ACCOUNT_SID.test(sid))
      throw invalid(`subaccounts.${i}.accountSid must be AC + 32 hex`);
    if (!nonEmpty(token)) throw invalid(`subaccounts.${i}.authToken is required`);
    if (!nonEmpty(senderPhone) || !E164.test(senderPhone))
      throw invalid(`subaccounts.${i}.senderPhone must be E.164`);
    return { dialingCode, accountSid: sid, authToken: token, senderPhone };
  });
  return { accountSid, authToken, subaccounts: subs };
}

/**
 * Sender choice (API.md): the subaccount whose dialing code prefixes the destination
 * (longest wins), else the Messaging Service, else the first sender listing the
 * destination's country, else the default sender.
 */
export function chooseTwilioRoute(to: string, secret: TwilioSecret, config: AppConfig): TwilioRoute {
  const sub = secret.subaccounts
    .filter((s) => to.startsWith(s.dialingCode))
    .sort((a, b) => b.dialingCode.length - a.dialingCode.length)[0];
  if (sub) {
    return { account: { accountSid: sub.accountSid, authToken: sub.authToken }, from: sub.senderPhone };
  }
  const account = { accountSid: secret.accountSid, authToken: secret.authToken };
  if (config.sms.messagingServiceSid) return { account, messagingServiceSid: config.sms.messagingServiceSid };
  const country = countryOf(to);
  const sender = country ? config.sms.senders.find((s) => s.countries.includes(country)) : undefined;
  if (sender) return { account, from: sender.number };
  if (config.sms.defaultSender) return { account, from: config.sms.defaultSender };
  throw notConfigured("no Twilio sender for this destination: no subaccount, messaging service or sender");
}

/**
 * SMS through Twilio's Messages API with the `twilio` package, loaded on the first send
 * only (cold starts of functions that never send an SMS do not pay for it).
 */
export class TwilioSms implements SmsProvider {
  readonly kind = "message";
  private readonly secrets: Secrets;
  private readonly apiBaseUrl: string | undefined;
  private readonly timeoutMs: number;
  private loaded: Promise<{ sdk: TwilioModule; httpClient: HttpClient }> | undefined;

  constructor(settings: TwilioSmsSettings) {
    this.secrets = settings.secrets;
    this.apiBaseUrl = settings.apiBaseUrl?.replace(/\/+$/, "") || undefined;
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async sendSms(message: OutgoingSms, config: AppConfig): Promise<Delivery> {
    const name = config.sms.secretName;
    const route = chooseTwilioRoute(message.to, await this.readSecret(name), config);
    try {
      return await this.create(route, message);
    } catch (error) {
      const failure = toProviderError(error, route.account, this.timeoutMs);
      if (failure.kind !== "auth") throw failure;
      // The token may have been rotated: drop the cached copy and try once more with a new one.
      this.secrets.refreshProviderSecret(name);
      let retry: TwilioRoute;
      try {
        retry = chooseTwilioRoute(message.to, await this.readSecret(name), config);
      } catch {
        throw failure;
      }
      const same =
        retry.account.accountSid === route.account.accountSid &&
        retry.account.authToken === route.account.authToken;
      if (same) throw failure;
      try {
        return await this.create(retry, message);
      } catch (again) {
        throw toProviderError(again, retry.account, this.timeoutMs);
      }
    }
  }

  private async readSecret(name: string): Promise<TwilioSecret> {
    return parseTwilioSecret(name, await readProviderSecret(this.secrets, name, PROVIDER, "Twilio"));
  }

  private async create(route: TwilioRoute, message: OutgoingSms): Promise<Delivery> {
    const { sdk, httpClient } = await this.load();
    const client = sdk(route.account.accountSid, route.account.authToken, {
      httpClient,
      timeout: this.timeoutMs,
      autoRetry: false,
      env: {},
    });
    const params = route.messagingServiceSid
      ? { to: message.to, body: message.body, messagingServiceSid: route.messagingServiceSid }
      : { to: message.to, body: message.body, from: route.from };
    const created = await withDeadline(client.messages.create(params), this.timeoutMs);
    return { provider: PROVIDER, providerMessageId: created.sid };
  }

  private load(): Promise<{ sdk: TwilioModule; httpClient: HttpClient }> {
    this.loaded ??= import("twilio").then(
      (module) => {
        const sdk = module.default;
        // One client for every account: keeps connections alive between sends.
        const inner = new sdk.RequestClient({ timeout: this.timeoutMs, autoRetry: false });
        const httpClient = this.apiBaseUrl ? rewritingClient(inner, this.apiBaseUrl) : inner;
        return { sdk, httpClient };
      },
      (error: unknown) => {
        this.loaded = undefined;
        throw error;
      },
    );
    return this.loaded;
  }
}

/**
 * twilio has no base-URL option: this httpClient sends what twilio would send to
 * `https://api.twilio.com` (or an edge/region host) to `base` instead, and is otherwise
 * twilio's own RequestClient (Basic auth from username/password, form-encoded data,
 * same headers, timeout and status handling).
 */
function rewritingClient(inner: HttpClient, base: string): HttpClient {
  const wrapper = {
    request: (opts: Parameters<HttpClient["request"]>[0]) => {
      const uri = new URL(opts.uri);
      const target = /^api(\.[a-z0-9-]+)*\.twilio\.com$/.test(uri.hostname)
        ? `${base}${uri.pathname}${uri.search}`
        : opts.uri;
      return inner.request({ ...opts, uri: target });
    },
  };
  // Only `request` is part of the contract twilio relies on.
  return wrapper as unknown as HttpClient;
}

class DeadlineExceeded extends Error {}

/** The whole call, not only socket idleness, is bounded by `ms`. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded()), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    // A late rejection of the abandoned call must not become an unhandled rejection.
    work.catch(() => {});
  }
}

const NETWORK_TIMEOUT_CODES = new Set(["ECONNABORTED", "ETIMEDOUT", "ESOCKETTIMEDOUT"]);

/** Maps whatever twilio/axios threw; keeps Twilio's code and message, never credentials. */
function toProviderError(error: unknown, account: TwilioAccount, timeoutMs: number): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof DeadlineExceeded) {
    return new ProviderError(PROVIDER, "timeout", `Twilio did not answer within ${timeoutMs} ms`, "timeout");
  }
  const e = (isRecord(error) || error instanceof Error ? error : {}) as Record<string, unknown>;
  const status = typeof e.status === "number" ? e.status : undefined;
  if (status !== undefined) {
    // RestException (or TwilioServiceException): the HTTP status and Twilio's own code/message.
    const code = typeof e.code === "number" || nonEmpty(e.code) ? String(e.code) : undefined;
    const kind =
      code === "20003" || status === 401
        ? "auth"
        : code === "20429" || status === 429 || status >= 500
          ? "unavailable"
          : "rejected";
    const text = nonEmpty(e.message) ? e.message : `HTTP ${status}`;
    return new ProviderError(PROVIDER, code ?? `http_${status}`, redact(text, account), kind);
  }
  const errno = nonEmpty(e.code) ? e.code : undefined;
  if (errno && NETWORK_TIMEOUT_CODES.has(errno)) {
    return new ProviderError(PROVIDER, "timeout", `Twilio did not answer within ${timeoutMs} ms`, "timeout");
  }
  return new ProviderError(
    PROVIDER,
    "network",
    `could not reach Twilio${errno ? ` (${errno})` : ""}`,
    "unavailable",
  );
}

const redact = (text: string, account: TwilioAccount): string =>
  text.split(account.authToken).join("[redacted]").slice(0, 500);
