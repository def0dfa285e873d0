import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for `https://api.twilio.com` speaking the Messages API wire format
 * (PROVIDERS.md §1): form-encoded requests, HTTP Basic auth, snake_case JSON answers.
 */

export interface FakeTwilioAccount {
  sid: string;
  token: string;
  /** A subaccount: its parent's credentials may also create messages under it. */
  parentSid?: string;
}

/** The documented errors the fake can be told to answer, by Twilio error code (500: an internal error). */
export type TwilioFault = 20003 | 20429 | 21211 | 21408 | 21608 | 21610 | 21614 | 500 | "500-html" | "hang";

/** A message Twilio accepted. */
export interface FakeTwilioMessage {
  sid: string;
  /** The account in the URL path, the message is created under it. */
  accountSid: string;
  /** The Basic-auth user that created it. */
  authUser: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  status: "queued" | "accepted";
}

/** Every request that reached the fake, answered or not. */
export interface FakeTwilioRequest {
  method: string;
  path: string;
  authUser: string | undefined;
  contentType: string | undefined;
  /** The form body as parsed (repeated keys keep every value). */
  params: Record<string, string[]>;
  /** The answer's status; `undefined` while (or when) it hangs. */
  status: number | undefined;
  code: number | undefined;
}

export interface FakeTwilio {
  /** Base URL, e.g. `http://127.0.0.1:43121` (pass as `apiBaseUrl`). */
  url: string;
  messages: FakeTwilioMessage[];
  requests: FakeTwilioRequest[];
  /** The next `n` requests to the Messages endpoint answer `fault` (before auth is checked). */
  failNext(n: number, fault: TwilioFault): void;
  /** Every request to `to` answers `fault` until `clearFaults()`. */
  failFor(to: string, fault: TwilioFault): void;
  /** The next `n` requests never get an answer. */
  hangNext(n: number): void;
  clearFaults(): void;
  /** Rotates an account's Auth Token: the old one is refused with 20003 from now on. */
  setToken(sid: string, token: string): void;
  /** Forgets recorded messages and requests and every fault. */
  reset(): void;
  stop(): Promise<void>;
}

/** A random SID: prefix (`AC`, `SM`, `MG`) and 32 hex digits. */
export const twilioSid = (prefix: string): string => `${prefix}${randomBytes(16).toString("hex")}`;

const MORE_INFO = "https://www.twilio.com/docs/errors/";

const FAULTS: Record<
  Exclude<TwilioFault, "hang" | "500-html">,
  { status: number; code: number; message: (to: string) => string }
> = {
  20003: { status: 401, code: 20003, message: () => "Authenticate" },
  20429: { status: 429, code: 20429, message: () => "Too Many Requests" },
  21211: { status: 400, code: 21211, message: (to) => `The 'To' number ${to} is not a valid phone number.` },
  21408: {
    status: 400,
    code: 21408,
    message: (to) =>
      `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
  },
  21608: {
    status: 400,
    code: 21608,
    message: (to) =>
      `The number ${to} is unverified. Trial accounts cannot send messages to unverified numbers; verify ${to} at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers`,
  },
  21610: { status: 400, code: 21610, message: () => "Attempt to send to unsubscribed recipient" },
  21614: { status: 400, code: 21614, message: (to) => `'To' number ${to} is not a valid mobile number` },
  500: { status: 500, code: 20500, message: () => "An internal server error has occurred" },
};

/** RFC 2822 as Twilio writes it: `Thu, 24 Aug 2023 05:01:45 +0000`. */
const rfc2822 = (date: Date): string => date.toUTCString().replace(/GMT$/, "+0000");

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

export async function startFakeTwilio(accounts: FakeTwilioAccount[]): Promise<FakeTwilio> {
  const byId = new Map(accounts.map((a) => [a.sid, { ...a }]));
  const messages: FakeTwilioMessage[] = [];
  const requests: FakeTwilioRequest[] = [];
  let queued: TwilioFault[] = [];
  let perDestination = new Map<string, TwilioFault>();

  const json = (res: ServerResponse, record: FakeTwilioRequest, status: number, body: unknown) => {
    record.status = status;
    record.code =
      typeof (body as { code?: unknown }).code === "number" ? (body as { code: number }).code : undefined;
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(body));
  };
  const error = (
    res: ServerResponse,
    record: FakeTwilioRequest,
    status: number,
    code: number,
    message: string,
  ) => json(res, record, status, { code, message, more_info: `${MORE_INFO}${code}`, status });

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const auth = parseBasic(req.headers.authorization);
    const form = new URLSearchParams(raw);
    const params: Record<string, string[]> = {};
    for (const key of new Set(form.keys())) params[key] = form.getAll(key);
    const record: FakeTwilioRequest = {
      method: req.method ?? "",
      path: url.pathname,
      authUser: auth?.user,
      contentType: req.headers["content-type"],
      params,
      status: undefined,
      code: undefined,
    };
    requests.push(record);

    const match = MESSAGES_PATH.exec(url.pathname);
    if (!match) {
      return error(res, record, 404, 20404, "The requested resource was not found");
    }
    if (req.method !== "POST") return error(res, record, 405, 20004, "Method not allowed");
    const pathSid = match[1] ?? "";
    const to = form.get("To") ?? "";

    const fault = queued.shift() ?? perDestination.get(to);
    if (fault === "hang") return; // never answers; stop() closes the socket
    if (fault === "500-html") {
      record.status = 500;
      res.writeHead(500, { "Content-Type": "text/html" });
      res.end("<html><body>Internal Server Error</body></html>");
      return;
    }
    if (fault !== undefined) {
      const spec = FAULTS[fault];
      return error(res, record, spec.status, spec.code, spec.message(to));
    }

    // Basic auth: the account itself, or a subaccount's parent.
    const caller = auth ? byId.get(auth.user) : undefined;
    const target = byId.get(pathSid);
    const allowed =
      caller !== undefined &&
      auth !== undefined &&
      caller.token === auth.password &&
      target !== undefined &&
      (target.sid === caller.sid || target.parentSid === caller.sid);
    if (!allowed) return error(res, record, 401, 20003, "Authenticate");

    if (!req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
      return error(res, record, 400, 21604, "A 'To' phone number is required.");
    }
    if (!to) return error(res, record, 400, 21604, "A 'To' phone number is required.");
    const from = form.get("From");
    const service = form.get("MessagingServiceSid");
    if (!from && !service) return error(res, record, 400, 21603, "A 'From' phone number is required.");
    const body = form.get("Body");
    if (!body) {
      return service
        ? error(res, record, 400, 21619, "A text message body or media urls must be specified.")
        : error(res, record, 400, 21602, "Message body is required.");
    }

    const sid = twilioSid("SM");
    const now = rfc2822(new Date());
    const status = service ? "accepted" : "queued";
    messages.push({
      sid,
      accountSid: pathSid,
      authUser: auth?.user ?? "",
      to,
      from: from || null,
      messagingServiceSid: service || null,
      body,
      status,
    });
    const uri = `/2010-04-01/Accounts/${pathSid}/Messages/${sid}.json`;
    return json(res, record, 201, {
      account_sid: pathSid,
      api_version: "2010-04-01",
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: from || null,
      messaging_service_sid: service || null,
      num_media: "0",
      num_segments: service ? "0" : "1",
      price: null,
      price_unit: null,
      sid,
      status,
      subresource_uris: { media: `/2010-04-01/Accounts/${pathSid}/Messages/${sid}/Media.json` },
      to,
      uri,
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    requests,
    failNext(n, fault) {
      for (let i = 0; i < n; i++) queued.push(fault);
    },
    failFor(to, fault) {
      perDestination.set(to, fault);
    },
    hangNext(n) {
      for (let i = 0; i < n; i++) queued.push("hang");
    },
    clearFaults() {
      queued = [];
      perDestination = new Map();
    },
    setToken(sid, token) {
      const account = byId.get(sid);
      if (!account) throw new Error(`unknown account ${sid}`);
      account.token = token;
    },
    reset() {
      messages.length = 0;
      requests.length = 0;
      queued = [];
      perDestination = new Map();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
