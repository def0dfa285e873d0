import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./openapi-types.ts";

export type { components, operations, paths } from "./openapi-types.ts";

export interface OtpClientOptions {
  /** Where the API is: the stage's URL, or the local stack's `baseUrl` from credentials.json. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`: an app's API key for client routes, or the local admin token. */
  apiKey?: string;
  /** A fetch of your own, e.g. one that signs admin requests with SigV4; `globalThis.fetch` otherwise. */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** Every operation of the API, typed from its OpenAPI document: paths, parameters, bodies and answers. */
export type OtpClient = Client<paths>;

/**
 * A typed client for the otp-service API (openapi-fetch): `client.POST("/v1/challenges", { body })`
 * resolves to `{ data }` for a success and `{ error }` (the problem document) otherwise, both typed.
 */
export function createOtpClient(options: OtpClientOptions): OtpClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    headers: {
      ...options.headers,
      ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
    },
  });
}
