// Types only: erased at compile time, so importing this module never loads twilio.
import type TwilioSdk from "twilio";
import type { AppConfig } from "#core/config";
import { ProviderError } from "#core/errors";
import { countryOf } from "#core/phone";
import type { Delivery, OutgoingSms, Secrets, SmsProvider } from "#core/ports";
import { withRotatingSecret } from "../secret.ts";
import { type TwilioSecret, twilioSecret } from "./secret.ts";

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

/** Where a message goes out: the account it is created under and exactly one sender. */
export type TwilioRoute = { account: TwilioAccount } & (
  | { from: string; messagingServiceSid?: undefined }
  | { messagingServiceSid: string; from?: undefined }
);

const PROVIDER = twilioSecret.provider;
// Under the use case's 5 s per delivery step (PROVIDER_TIMEOUT_MS): the request is aborted before the step gives up on it, so none lingers.
export const DEFAULT_TIMEOUT_MS = 4_000;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/**
 * Sender choice (API.md): the subaccount whose dialing code prefixes the destination
 * (longest wins), else the Messaging Service, else the first sender listing the
 * destination's country, else the default sender.
 */
export function chooseTwilioRoute(
  to: string,
  country: string | undefined,
  secret: TwilioSecret,
  config: AppConfig,
): TwilioRoute {
  const sub = (secret.subaccounts ?? [])
    .filter((s) => to.startsWith(s.dialingCode))
    .sort((a, b) => b.dialingCode.length - a.dialingCode.length)[0];
  if (sub) {
    return { account: { accountSid: sub.accountSid, authToken: sub.authToken }, from: sub.senderPhone };
  }
  const account = { accountSid: secret.accountSid, authToken: secret.authToken };
  if (config.sms.messagingServiceSid) return { account, messagingServiceSid: config.sms.messagingServiceSid };
  const sender = country ? config.sms.senders.find((s) => s.countries.includes(country)) : undefined;
  if (sender) return { account, from: sender.number };
  if (config.sms.defaultSender) return { account, from: config.sms.defaultSender };
  throw new ProviderError(
    PROVIDER,
    "not_configured",
    "no Twilio sender for this destination: no subaccount, messaging service or sender",
    "not_configured",
  );
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
    const source = { secrets: this.secrets, spec: twilioSecret, name: twilioSecret.secretNameIn(config) };
    // Only a sender chosen by country needs it; SMS protection has usually found it already.
    const needsCountry = !config.sms.messagingServiceSid && config.sms.senders.length > 0;
    const country = message.country ?? (needsCountry ? await countryOf(message.to) : undefined);
    return withRotatingSecret(
      source,
      (secret) => this.send(chooseTwilioRoute(message.to, country, secret, config), message),
      // A retry is worth it only when the account this destination uses got new credentials.
      (secret) => {
        try {
          return chooseTwilioRoute(message.to, country, secret, config).account;
        } catch {
          return undefined;
        }
      },
    );
  }

  private async send(route: TwilioRoute, message: OutgoingSms): Promise<Delivery> {
    try {
      return await this.create(route, message);
    } catch (error) {
      throw toProviderError(error, route.account, this.timeoutMs);
    }
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
