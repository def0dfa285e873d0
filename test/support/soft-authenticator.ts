import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

/**
 * A software WebAuthn authenticator for tests: node:crypto keys (ES256 or RS256), `none`
 * attestation, and the CBOR of attestation objects and COSE keys written out here (the few
 * major types WebAuthn needs), so the service's library is checked against bytes it did not make.
 */

// ---- CBOR (RFC 8949): unsigned and negative integers, byte and text strings, arrays, maps ----

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(length, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(length, 1);
  return b;
}

export function cbor(value: Cbor): Buffer {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

// ---- COSE keys (RFC 9053) -----------------------------------------------------------------------

export type Algorithm = "ES256" | "RS256";

function coseKey(alg: Algorithm, publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  const b = (v: string | undefined) => Buffer.from(v ?? "", "base64url");
  if (alg === "ES256") {
    // kty EC2, alg ES256, crv P-256, x, y
    return cbor(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, b(jwk.x)],
        [-3, b(jwk.y)],
      ]),
    );
  }
  // kty RSA, alg RS256, n, e
  return cbor(
    new Map<number, Cbor>([
      [1, 3],
      [3, -257],
      [-1, b(jwk.n)],
      [-2, b(jwk.e)],
    ]),
  );
}

// ---- authenticator data (WebAuthn §6.1) -------------------------------------------------------------

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

const sha256 = (data: string | Buffer): Buffer => createHash("sha256").update(data).digest();

function authenticatorData(rpId: string, flags: number, signCount: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(signCount >>> 0);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)]);
}

/** What a test may change in one ceremony, to make it wrong in exactly one way. */
export interface Ceremony {
  origin?: string;
  /** The RP id hashed into the authenticator data. */
  rpId?: string;
  /** Sign this challenge instead of the one in the options. */
  challenge?: string;
  userPresent?: boolean;
  userVerified?: boolean;
  /** Sign with this counter instead of the authenticator's next one (a clone). */
  signCount?: number;
  /** Flip a bit of the signature. */
  tamper?: boolean;
  type?: string;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string };
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export interface SoftAuthenticatorOptions {
  alg?: Algorithm;
  origin: string;
  /** Keeps a signature counter (the default) or sends 0 every time. */
  keepsCounter?: boolean;
  /** A synced passkey: backup eligible and backed up. */
  backedUp?: boolean;
  transports?: string[];
}

export class SoftAuthenticator {
  readonly alg: Algorithm;
  readonly credentialId = randomBytes(32);
  signCount = 0;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor(private readonly options: SoftAuthenticatorOptions) {
    this.alg = options.alg ?? "ES256";
    const pair =
      this.alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  get id(): string {
    return this.credentialId.toString("base64url");
  }

  private flags(c: Ceremony, extra = 0): number {
    let flags = extra;
    if (c.userPresent ?? true) flags |= FLAGS.UP;
    if (c.userVerified ?? true) flags |= FLAGS.UV;
    if (this.options.backedUp) flags |= FLAGS.BE | FLAGS.BS;
    return flags;
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** `navigator.credentials.create()` answered, as `credential.toJSON()` gives it. */
  register(options: CreationOptions, c: Ceremony = {}): Record<string, unknown> {
    const rpId = c.rpId ?? options.rp.id ?? "";
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([
      Buffer.alloc(16), // aaguid: none
      idLength,
      this.credentialId,
      coseKey(this.alg, this.publicKey),
    ]);
    const authData = authenticatorData(rpId, this.flags(c, FLAGS.AT), this.signCount, attested);
    const attestationObject = cbor(
      new Map<string, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    const clientDataJSON = this.clientData(
      c.type ?? "webauthn.create",
      c.challenge ?? options.challenge,
      c.origin ?? this.options.origin,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: clientDataJSON.toString("base64url"),
        attestationObject: attestationObject.toString("base64url"),
        transports: this.options.transports ?? ["usb"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "cross-platform",
    };
  }

  /** `navigator.credentials.get()` answered, as `credential.toJSON()` gives it. */
  assert(options: RequestOptions, c: Ceremony = {}): Record<string, unknown> {
    const rpId = c.rpId ?? options.rpId ?? "";
    let count = 0;
    if (c.signCount !== undefined) count = c.signCount;
    else if (this.options.keepsCounter ?? true) {
      this.signCount += 1;
      count = this.signCount;
    }
    const authData = authenticatorData(rpId, this.flags(c), count);
    const clientDataJSON = this.clientData(
      c.type ?? "webauthn.get",
      c.challenge ?? options.challenge,
      c.origin ?? this.options.origin,
    );
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    if (c.tamper) signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: clientDataJSON.toString("base64url"),
        authenticatorData: authData.toString("base64url"),
        signature: signature.toString("base64url"),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "cross-platform",
    };
  }
}
