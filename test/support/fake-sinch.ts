import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for `https://verification.api.sinch.com` (PROVIDERS.md §2): start an SMS
 * verification, report a code. It checks Basic auth and the signed-request scheme
 * (recomputed here, independently of the adapter, over the exact bytes received) and
 * generates the code the phone would receive.
 */

export interface FakeSinchApplication {
  /** The application key (`authenticationId`). */
  key: string;
  /** The application secret, base64 as Sinch shows it. */
  secret: string;
}

/**
 * Faults it can be told to answer: a Sinch errorCode (with its HTTP status), a bare
 * HTTP status, or `hang` (never answer).
 */
export type SinchFault = 40001 | 40003 | 40100 | 40300 | 42900 | 50000 | 503 | "hang";

export type SinchStatus = "PENDING" | "SUCCESSFUL" | "FAIL" | "DENIED" | "ABORTED" | "ERROR";

export interface FakeSinchVerification {
  id: string;
  to: string;
  /** The code the phone received. */
  code: string;
  reference: string | undefined;
  /** `smsOptions.expiry` as sent (`HH:MM:SS`). */
  expiry: string | undefined;
  /** The `Accept-Language` header of the start request. */
  locale: string | undefined;
  status: SinchStatus;
  reason: string | undefined;
  reports: string[];
  /** The application key that started it. */
  key: string;
}

export interface FakeSinchRequest {
  method: string;
  path: string;
  auth: "basic" | "signed" | "none";
  key: string | undefined;
  contentType: string | undefined;
  /** The exact body received. */
  body: string;
  headers: IncomingMessage["headers"];
  status: number | undefined;
  errorCode: number | undefined;
}

export interface FakeSinch {
  url: string;
  verifications: FakeSinchVerification[];
  requests: FakeSinchRequest[];
  /** The code of the newest verification of `to`. */
  codeFor(to: string): string | undefined;
  /** The next `n` requests answer `fault`, before auth is checked. */
  failNext(n: number, fault: SinchFault): void;
  hangNext(n: number): void;
  /** Replaces an application's secret: the old one is refused (401) from now on. */
  setSecret(key: string, secret: string): void;
  /** The verification ran out of time: the next report answers FAIL/Expired. */
  expire(id: string): void;
  reset(): void;
  stop(): Promise<void>;
}

const FAULTS: Record<Exclude<SinchFault, "hang">, { status: number; errorCode: number; message: string }> = {
  40001: { status: 400, errorCode: 40001, message: "Number +4813 is invalid. Too short." },
  40003: { status: 400, errorCode: 40003, message: "Invalid identity or code." },
  40100: { status: 401, errorCode: 40100, message: "Invalid authorization header." },
  40300: { status: 403, errorCode: 40300, message: "Forbidden request." },
  42900: { status: 429, errorCode: 42900, message: "Too many requests." },
  50000: { status: 500, errorCode: 50000, message: "Internal error." },
  503: { status: 503, errorCode: 50300, message: "Service unavailable." },
};

const START_PATH = "/verification/v1/verifications";
const REPORT_PATH = /^\/verification\/v1\/verifications\/id\/([^/]+)$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export async function startFakeSinch(applications: FakeSinchApplication[]): Promise<FakeSinch> {
  const apps = new Map(applications.map((a) => [a.key, { ...a }]));
  const verifications: FakeSinchVerification[] = [];
  const requests: FakeSinchRequest[] = [];
  let queued: SinchFault[] = [];
  let url = "";

  const send = (res: ServerResponse, record: FakeSinchRequest, status: number, body: unknown) => {
    record.status = status;
    const code = (body as { errorCode?: unknown }).errorCode;
    record.errorCode = typeof code === "number" ? code : undefined;
    res.writeHead(status, { "Content-Type": "application/json;charset=UTF-8" });
    res.end(JSON.stringify(body));
  };
  const fail = (
    res: ServerResponse,
    record: FakeSinchRequest,
    status: number,
    errorCode: number,
    message: string,
  ) => send(res, record, status, { errorCode, message, reference: randomBytes(8).toString("hex") });

  /** `undefined` when authorised, else the error to answer. */
  const checkAuth = (
    req: IncomingMessage,
    record: FakeSinchRequest,
    raw: Buffer,
    path: string,
  ): { errorCode: number; message: string } | undefined => {
    const header = req.headers.authorization ?? "";
    const basic = /^Basic\s+(.+)$/i.exec(header);
    if (basic?.[1]) {
      record.auth = "basic";
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const key = colon < 0 ? decoded : decoded.slice(0, colon);
      record.key = key;
      const app = apps.get(key);
      if (!app || colon < 0 || !same(decoded.slice(colon + 1), app.secret)) {
        return { errorCode: 40100, message: "Invalid authorization header." };
      }
      return undefined;
    }
    const signed = /^Application\s+([^:]+):(.+)$/.exec(header);
    if (signed?.[1] && signed[2]) {
      record.auth = "signed";
      record.key = signed[1];
      const timestamp = req.headers["x-timestamp"];
      if (typeof timestamp !== "string" || !timestamp) {
        return { errorCode: 40101, message: "x-timestamp header is required." };
      }
      const app = apps.get(signed[1]);
      if (!app) return { errorCode: 40102, message: "Invalid signature." };
      const md5 = raw.length > 0 ? createHash("md5").update(raw).digest("base64") : "";
      const stringToSign = [
        (req.method ?? "").toUpperCase(),
        md5,
        req.headers["content-type"] ?? "",
        `x-timestamp:${timestamp}`,
        path,
      ].join("\n");
      const expected = createHmac("sha256", Buffer.from(app.secret, "base64"))
        .update(stringToSign, "utf8")
        .digest("base64");
      if (!same(signed[2], expected)) return { errorCode: 40102, message: "Invalid signature." };
      return undefined;
    }
    return { errorCode: 40100, message: "Invalid authorization header." };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    const record: FakeSinchRequest = {
      method: req.method ?? "",
      path,
      auth: "none",
      key: undefined,
      contentType: req.headers["content-type"],
      body: raw.toString("utf8"),
      headers: req.headers,
      status: undefined,
      errorCode: undefined,
    };
    requests.push(record);

    const fault = queued.shift();
    if (fault === "hang") return;
    if (fault !== undefined) {
      const spec = FAULTS[fault];
      return fail(res, record, spec.status, spec.errorCode, spec.message);
    }

    const denied = checkAuth(req, record, raw, path);
    if (denied) return fail(res, record, 401, denied.errorCode, denied.message);

    let body: Record<string, unknown> = {};
    try {
      body = raw.length > 0 ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>) : {};
    } catch {
      return fail(res, record, 400, 40001, "Invalid JSON.");
    }

    if (path === START_PATH && req.method === "POST") {
      const identity = body.identity as { type?: unknown; endpoint?: unknown } | undefined;
      const to = typeof identity?.endpoint === "string" ? identity.endpoint : "";
      if (identity?.type !== "number" || !E164.test(to)) {
        return fail(res, record, 400, 40001, `Number ${to || "(none)"} is invalid.`);
      }
      if (body.method !== "sms") return fail(res, record, 400, 40001, "Unsupported verification method.");
      const smsOptions = body.smsOptions as { expiry?: unknown } | undefined;
      const verification: FakeSinchVerification = {
        id: randomBytes(12).toString("hex"),
        to,
        code: String(randomInt(0, 10_000)).padStart(4, "0"),
        reference: typeof body.reference === "string" ? body.reference : undefined,
        expiry: typeof smsOptions?.expiry === "string" ? smsOptions.expiry : undefined,
        locale: req.headers["accept-language"],
        status: "PENDING",
        reason: undefined,
        reports: [],
        key: record.key ?? "",
      };
      verifications.push(verification);
      const href = `${url}/verification/v1/verifications/id/${verification.id}`;
      return send(res, record, 200, {
        id: verification.id,
        method: "sms",
        sms: { template: "Your verification code is {{CODE}}.", interceptionTimeout: 298 },
        _links: [
          { rel: "status", href, method: "GET" },
          { rel: "report", href, method: "PUT" },
        ],
      });
    }

    const report = REPORT_PATH.exec(path);
    if (report && req.method === "PUT") {
      const verification = verifications.find((v) => v.id === decodeURIComponent(report[1] ?? ""));
      if (!verification) return fail(res, record, 404, 40400, "Verification not found.");
      const sms = body.sms as { code?: unknown } | undefined;
      if (body.method !== "sms" || typeof sms?.code !== "string") {
        return fail(res, record, 400, 40001, "sms.code is required.");
      }
      // A finished verification cannot be reported again.
      if (verification.status !== "PENDING") {
        return fail(res, record, 404, 40400, "Verification not found.");
      }
      verification.reports.push(sms.code);
      if (verification.reason === "Expired") {
        verification.status = "FAIL";
        return send(res, record, 200, {
          id: verification.id,
          method: "sms",
          status: "FAIL",
          reason: "Expired",
        });
      }
      if (sms.code === verification.code) {
        verification.status = "SUCCESSFUL";
        return send(res, record, 200, { id: verification.id, method: "sms", status: "SUCCESSFUL" });
      }
      // A wrong code: this attempt failed, the verification stays open for another try.
      return send(res, record, 200, {
        id: verification.id,
        method: "sms",
        status: "FAIL",
        reason: "Invalid code",
      });
    }

    return fail(res, record, 404, 40400, "Not found.");
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    verifications,
    requests,
    codeFor: (to) => verifications.findLast((v) => v.to === to)?.code,
    failNext(n, fault) {
      for (let i = 0; i < n; i++) queued.push(fault);
    },
    hangNext(n) {
      for (let i = 0; i < n; i++) queued.push("hang");
    },
    setSecret(key, secret) {
      const app = apps.get(key);
      if (!app) throw new Error(`unknown application ${key}`);
      app.secret = secret;
    },
    expire(id) {
      const verification = verifications.find((v) => v.id === id);
      if (!verification) throw new Error(`unknown verification ${id}`);
      verification.reason = "Expired";
    },
    reset() {
      verifications.length = 0;
      requests.length = 0;
      queued = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
