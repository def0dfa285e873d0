import { documentBody } from "./openapi-prebuilt.ts";
import { type RequestOrigin, withServers } from "./openapi-servers.ts";

/** What `GET /openapi.json` answers: the document (prebuilt in a Lambda), with the caller's `servers`. */
export async function servedOpenApiDocument(origin: RequestOrigin): Promise<Record<string, unknown>> {
  return withServers(await documentBody(), origin);
}
