import type * as SimpleWebAuthn from "@simplewebauthn/server";

let loaded: Promise<typeof SimpleWebAuthn> | undefined;

/**
 * `@simplewebauthn/server`, loaded on first use: only WebAuthn requests need it, so the
 * functions' cold starts (every other kind, every other route) do not pay for it.
 */
export const webauthnLibrary = (): Promise<typeof SimpleWebAuthn> => {
  loaded ??= import("@simplewebauthn/server");
  return loaded;
};
