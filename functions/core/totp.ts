import type { AppConfig } from "./config.ts";

// otplib and its hash and base32 plugins (~30 KiB) are imported by the first TOTP enrollment or
// check, not at cold start: an SMS or email verification never parses them.
// A failed import is not kept: the next TOTP request tries again.
let library: Promise<typeof import("otplib")> | undefined;
const otplib = () =>
  (library ??= import("otplib").catch((error: unknown) => {
    library = undefined;
    throw error;
  }));

export type TotpSettings = AppConfig["totp"];

const algorithmOf = (settings: TotpSettings) =>
  settings.algorithm.toLowerCase() as "sha1" | "sha256" | "sha512";

/** 160 random bits (otplib draws them from the platform CSPRNG), base32 for authenticator apps. */
export const newTotpSecret = async (): Promise<string> => (await otplib()).generateSecret({ length: 20 });

/** The URI carries every parameter explicitly: some apps ignore defaults they were not told. */
export async function otpauthUri(
  settings: TotpSettings,
  issuer: string,
  label: string,
  secret: string,
): Promise<string> {
  const { generateURI } = await otplib();
  const uri = new URL(
    generateURI({
      issuer,
      label,
      secret,
      algorithm: algorithmOf(settings),
      digits: settings.digits,
      period: settings.periodSeconds,
    }),
  );
  uri.searchParams.set("algorithm", settings.algorithm);
  uri.searchParams.set("digits", String(settings.digits));
  uri.searchParams.set("period", String(settings.periodSeconds));
  return uri.toString().replace(/\+/g, "%20");
}

/**
 * The start (epoch seconds) of the time step the code belongs to, within `window` steps
 * either side of server time and strictly after `afterAt`, the start of the last accepted
 * step: a step is accepted at most once. Kept as a time, not a step number, so that a
 * change of `periodSeconds` neither reopens used codes nor locks anyone out.
 * `undefined` when it matches nothing.
 */
export async function matchTotp(
  settings: TotpSettings,
  secret: string,
  code: string,
  nowMs: number,
  afterAt?: number,
): Promise<number | undefined> {
  if (!new RegExp(`^\\d{${settings.digits}}$`).test(code)) return undefined;
  const period = settings.periodSeconds;
  const epoch = Math.floor(nowMs / 1000);
  const afterStep = afterAt === undefined ? undefined : Math.floor(afterAt / period);
  // Nothing in the window is newer than the last accepted step.
  if (afterStep !== undefined && afterStep >= Math.floor(epoch / period) + settings.window) return undefined;
  const { verifySync } = await otplib();
  try {
    const result = verifySync({
      secret,
      token: code,
      algorithm: algorithmOf(settings),
      digits: settings.digits,
      period,
      epoch,
      epochTolerance: settings.window * period,
      ...(afterStep === undefined ? {} : { afterTimeStep: afterStep }),
    });
    return result.valid && "timeStep" in result ? result.timeStep * period : undefined;
  } catch {
    return undefined;
  }
}

export async function qrCodes(uri: string): Promise<{ svg: string; dataUrl: string }> {
  // Loaded here, not at import: only TOTP enrollment draws QR codes.
  const qrcode = await import("qrcode");
  const [svg, dataUrl] = await Promise.all([
    qrcode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 }),
    qrcode.toDataURL(uri, { errorCorrectionLevel: "M", margin: 2, width: 256 }),
  ]);
  return { svg, dataUrl };
}
