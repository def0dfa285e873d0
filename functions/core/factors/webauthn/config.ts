import * as z from "../../schema.ts";

/**
 * A WebAuthn relying party id: a domain name (lowercase, no scheme, port or path) or
 * `localhost`. IP addresses are not valid RP ids. A single label other than `localhost`
 * (`com`) is refused: browsers reject public suffixes as RP ids.
 */
export const isRpId = (value: string): boolean =>
  value === "localhost" ||
  (value.length <= 253 &&
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(value));

/**
 * What an origin must be for credentials of `rpId` (WebAuthn: the RP id is the origin's
 * host or a registrable suffix of it). Secure contexts only: https, or plain http on
 * `localhost` for development. An origin has no path, query, user info or trailing slash.
 */
export function originProblem(value: string, rpId: string | null): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "an origin such as https://login.example.com";
  }
  if (url.origin !== value) return "an origin only: scheme://host[:port], no path, query or trailing slash";
  const secure = url.protocol === "https:" || (url.protocol === "http:" && url.hostname === "localhost");
  if (!secure) return "must be https (or http://localhost[:port] for development)";
  if (rpId !== null && url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`))
    return `its host must be ${rpId} or a subdomain of it (the rpId)`;
  return undefined;
}

/** The app's `webauthn` block (API.md "App configuration"). */
export const webauthnConfigSchema = z
  .strictObject({
    rpId: z._default(
      z.nullable(
        z
          .string()
          .check(
            z.maxLength(253),
            z.refine(isRpId, "a domain name such as example.com (or localhost), no scheme, port or path"),
          ),
      ),
      null,
    ),
    // The refine is config.ts's `wellFormed`, inlined: config.ts imports this file.
    rpName: z.optional(
      z.string().check(
        z.trim(),
        z.minLength(1),
        z.maxLength(100),
        z.refine((s) => !/\p{Cs}/u.test(s), "must be well-formed text"),
      ),
    ),
    origins: z._default(z.array(z.string().check(z.maxLength(2048))).check(z.maxLength(20)), []),
    userVerification: z._default(z.enum(["required", "preferred", "discouraged"]), "preferred"),
    attestation: z._default(z.enum(["none", "direct"]), "none"),
  })
  .check(
    z.superRefine((config, ctx) => {
      config.origins.forEach((origin, index) => {
        const problem = originProblem(origin, config.rpId);
        if (problem) ctx.addIssue({ code: "custom", path: ["origins", index], message: problem });
      });
      if (config.rpId !== null && config.origins.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["origins"],
          message: "list at least one origin the browser runs on when rpId is set",
        });
      }
    }),
  );

export type WebauthnConfig = z.output<typeof webauthnConfigSchema>;
