import { ProviderError } from "#core/errors";
import type { Secrets } from "#core/ports";

/** A provider's credentials; a store that cannot be read makes that provider unavailable (so fallback applies). */
export async function readProviderSecret(
  secrets: Secrets,
  name: string,
  provider: string,
  label: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await secrets.providerSecret(name);
  } catch {
    throw new ProviderError(
      provider,
      "secret_unavailable",
      `the ${label} secret "${name}" could not be read`,
      "unavailable",
    );
  }
}
