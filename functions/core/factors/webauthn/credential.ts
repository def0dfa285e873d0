import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { activeFactorsOf, type UserState } from "../../model/user.ts";
import * as z from "../../schema.ts";

const base64url = z
  .string()
  .check(z.minLength(1), z.maxLength(8192), z.regex(/^[A-Za-z0-9_-]+={0,2}$/, "base64url"));

/** What the factor item keeps from enrollment: the registration challenge and when it expires. */
export const pendingSchema = z.lazy(() => z.object({ challenge: base64url, challengeExpiresAt: z.number() }));

/** What the active entry on the user item keeps: the credential, its sign counter and backup state. */
export const storedCredentialSchema = z.lazy(() =>
  z.object({
    credentialId: base64url,
    /** COSE public key, base64url. */
    publicKey: base64url,
    signCount: z.number().check(z.int(), z.gte(0)),
    transports: z._default(z.array(z.string()), []),
    backupEligible: z.boolean(),
    backedUp: z.boolean(),
    aaguid: z.optional(z.string()),
  }),
);
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

// Built inside the shapes above, by the first WebAuthn request: a code login never needs them.
const common = () => ({
  id: base64url,
  rawId: base64url,
  type: z.literal("public-key"),
  authenticatorAttachment: z.optional(z.enum(["platform", "cross-platform"])),
  clientExtensionResults: z.optional(z.record(z.string(), z.unknown())),
});

const registrationShape = z.lazy(() =>
  z.object({
    ...common(),
    response: z.object({
      clientDataJSON: base64url,
      attestationObject: base64url,
      transports: z.optional(z.array(z.string().check(z.maxLength(32))).check(z.maxLength(16))),
    }),
  }),
);

const authenticationShape = z.lazy(() =>
  z.object({
    ...common(),
    response: z.object({
      clientDataJSON: base64url,
      authenticatorData: base64url,
      signature: base64url,
      userHandle: z.optional(base64url),
    }),
  }),
);

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
