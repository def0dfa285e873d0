import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export type AwsCredentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];
type SignableRequest = Parameters<SignatureV4["sign"]>[0];

/**
 * A `fetch` that signs every request with SigV4 for API Gateway (`execute-api`) IAM authorization:
 * the host, every header sent, the query string and a hash of the body are signed, the path
 * as sent (already percent-encoded once; the signer encodes it again, as execute-api expects).
 * `send` is the `fetch` that puts the signed request on the wire.
 */
export function signingFetch(
  credentials: AwsCredentials,
  region: string,
  send: typeof fetch = fetch,
): typeof fetch {
  const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Sha256 });
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    headers.host = url.host;
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) {
      const seen = query[key];
      query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const unsigned: SignableRequest = {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      body,
    };
    const signed = await signer.sign(unsigned);
    // fetch sends Host itself, from the URL: the same value that was signed.
    const { host: _, ...sent } = signed.headers;
    return send(url.href, { method: request.method, headers: sent, body, signal: request.signal });
  };
}
