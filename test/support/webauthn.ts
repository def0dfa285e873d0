import type { AppConfig } from "#core/config";
import { activateFactor } from "#core/use-cases/activate-factor";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { sendChallenge } from "#core/use-cases/send-challenge";
import { verifyCode } from "#core/use-cases/verify-code";
import type { TestDeps } from "./deps.ts";
import { SoftAuthenticator, type SoftAuthenticatorOptions } from "./soft-authenticator.ts";

export const RP_ID = "example.com";
export const ORIGIN = "https://login.example.com";

/** An app whose relying party is example.com, used from https://login.example.com. */
export async function webauthnApp(
  d: TestDeps,
  change: (webauthn: AppConfig["webauthn"]) => void = () => undefined,
): Promise<string> {
  const { appId } = await d.createApp("Acme");
  await d.configure(appId, (config) => {
    config.webauthn = { ...config.webauthn, rpId: RP_ID, origins: [ORIGIN] };
    change(config.webauthn);
  });
  return appId;
}

export interface CreationOptionsJson {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: Array<{ id: string; type: string; transports?: string[] }>;
  authenticatorSelection?: { userVerification?: string; residentKey?: string };
  attestation?: string;
  timeout?: number;
  pubKeyCredParams: Array<{ alg: number; type: string }>;
}

export interface RequestOptionsJson {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string; type: string; transports?: string[] }>;
  userVerification?: string;
  timeout?: number;
}

export async function enrollKey(d: TestDeps, appId: string, userId: string, label?: string) {
  const enrolled = await enrollFactor(d, { appId, userId, type: "webauthn", ...(label ? { label } : {}) });
  return {
    factor: enrolled.factor,
    creationOptions: enrolled.reveal?.creationOptions as CreationOptionsJson,
  };
}

/** Enrolls and activates a key made by a new software authenticator (steps up first when MFA is on). */
export async function registerKey(
  d: TestDeps,
  appId: string,
  userId: string,
  options: Partial<SoftAuthenticatorOptions> = {},
) {
  if ((await d.userState(appId, userId))?.enabled) await d.stepUp(appId, userId);
  const key = new SoftAuthenticator({ origin: ORIGIN, ...options });
  const { factor, creationOptions } = await enrollKey(d, appId, userId);
  const activated = await activateFactor(d, {
    appId,
    userId,
    factorId: factor.factorId,
    credential: key.register(creationOptions),
  });
  return { key, factorId: factor.factorId, recoveryCodes: activated.recoveryCodes ?? [] };
}

export async function startLogin(d: TestDeps, appId: string, userId: string) {
  const started = await sendChallenge(d, { appId, userId, channel: "webauthn", purpose: "login" });
  if (!("reveal" in started)) throw new Error("a webauthn challenge reveals its requestOptions");
  return {
    challengeId: started.challengeId,
    started,
    requestOptions: started.reveal.requestOptions as RequestOptionsJson,
  };
}

export const verifyAssertion = (
  d: TestDeps,
  appId: string,
  userId: string,
  challengeId: string,
  credential: Record<string, unknown>,
) => verifyCode(d, { appId, userId, challengeId, credential });
