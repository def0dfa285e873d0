import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";
import { activeFactorsOf, type UserState } from "../../model/user.ts";

const base64url = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[A-Za-z0-9_-]+={0,2}$/, "base64url");

/** What the factor item keeps from enrollment: the registration challenge and when it expires. */
export const pendingSchema = z.object({ challenge: base64url, challengeExpiresAt: z.number() });

/** What the active entry on the user item keeps: the credential, its sign counter and backup state. */
export const storedCredentialSchema = z.object({
  credentialId: base64url,
  /** COSE public key, base64url. */
  publicKey: base64url,
  signCount: z.number().int().min(0),
  transports: z.array(z.string()).default([]),
  backupEligible: z.boolean(),
  backedUp: z.boolean(),
  aaguid: z.string().optional(),
});
export type StoredCredential = z.output<typeof storedCredentialSchema>;

export const parseStoredCredential = (data: unknown): StoredCredential | undefined => {
  const parsed = storedCredentialSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
};

/** The user's active WebAuthn credentials, each with its factor id. */
export const activeCredentials = (
  state: UserState | undefined,
): Array<{ factorId: string; credential: StoredCredential }> =>
  activeFactorsOf(state).flatMap(([factorId, entry]) => {
    const credential = entry.type === "webauthn" ? parseStoredCredential(entry.data) : undefined;
    return credential ? [{ factorId, credential }] : [];
  });

const KNOWN_TRANSPORTS = new Set(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);
/** Transports the browser reported, as hints for later `allowCredentials`: known names only. */
export const knownTransports = (given: readonly string[] | undefined): string[] =>
  [...new Set(given ?? [])].filter((t) => KNOWN_TRANSPORTS.has(t));

const common = {
  id: base64url,
  rawId: base64url,
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
};

const registrationShape = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(16).optional(),
  }),
});

const authenticationShape = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
});

/** A `RegistrationResponseJSON` from the request body, or undefined when it does not have that shape. */
export function registrationResponse(
  credential: unknown,
): { response: RegistrationResponseJSON; transports: string[] } | undefined {
  const parsed = registrationShape.safeParse(credential);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  return {
    response: {
      id: c.id,
      rawId: c.rawId,
      type: c.type,
      response: {
        clientDataJSON: c.response.clientDataJSON,
        attestationObject: c.response.attestationObject,
      },
      clientExtensionResults: {},
    },
    transports: knownTransports(c.response.transports),
  };
}

/** An `AuthenticationResponseJSON` from the request body, or undefined when it does not have that shape. */
export function authenticationResponse(credential: unknown): AuthenticationResponseJSON | undefined {
  const parsed = authenticationShape.safeParse(credential);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  return {
    id: c.id,
    rawId: c.rawId,
    type: c.type,
    response: {
      clientDataJSON: c.response.clientDataJSON,
      authenticatorData: c.response.authenticatorData,
      signature: c.response.signature,
      ...(c.response.userHandle === undefined ? {} : { userHandle: c.response.userHandle }),
    },
    clientExtensionResults: {},
  };
}
