import { DomainError } from "../errors.ts";
import type { Deps } from "../ports.ts";
import { apiKeyHash } from "../sessions.ts";

/** Resolves a bearer API key to its app; any missing, unknown or revoked key is the same 401. */
export async function authenticateClient(
  deps: Pick<Deps, "store">,
  bearer: string | undefined,
): Promise<string> {
  if (!bearer) throw unauthorized();
  const record = await deps.store.getApiKey(apiKeyHash(bearer));
  if (!record || record.revokedAt !== undefined) throw unauthorized();
  return record.appId;
}

const unauthorized = (): DomainError =>
  new DomainError("unauthorized", "A valid API key is required: Authorization: Bearer <apiKey>.");
