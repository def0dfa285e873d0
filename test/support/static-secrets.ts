import type { SecretInfo, Secrets, ServiceSecret } from "#core/ports";

/**
 * In-memory `Secrets` that caches like the real ones: `providerSecret` keeps answering the
 * copy it first read until `refreshProviderSecret` drops it. `rotate` changes the stored
 * value without touching the cache (what happens when an admin rotates a token while a
 * warm function still holds the old one).
 */
export class StaticSecrets implements Secrets {
  private readonly stored = new Map<string, Record<string, unknown>>();
  private readonly cached = new Map<string, Record<string, unknown> | undefined>();
  /** Names passed to `refreshProviderSecret`, in order. */
  readonly refreshes: string[] = [];
  /** Names read from the store (cache misses), in order. */
  readonly reads: string[] = [];

  constructor(initial: Record<string, Record<string, unknown>> = {}) {
    for (const [name, value] of Object.entries(initial)) this.stored.set(name, structuredClone(value));
  }

  async serviceSecret(): Promise<ServiceSecret> {
    return { pepper: "static-secrets-pepper", encryptionKeys: {}, currentKeyId: "none" };
  }

  async providerSecret(name: string): Promise<Record<string, unknown> | undefined> {
    if (!this.cached.has(name)) {
      this.reads.push(name);
      const value = this.stored.get(name);
      this.cached.set(name, value === undefined ? undefined : structuredClone(value));
    }
    return this.cached.get(name);
  }

  refreshProviderSecret(name: string): void {
    this.refreshes.push(name);
    this.cached.delete(name);
  }

  async putProviderSecret(name: string, value: Record<string, unknown>): Promise<void> {
    this.stored.set(name, structuredClone(value));
    this.cached.delete(name);
  }

  /** Changes the stored value only: readers keep the cached copy until a refresh. */
  rotate(name: string, value: Record<string, unknown>): void {
    this.stored.set(name, structuredClone(value));
  }

  delete(name: string): void {
    this.stored.delete(name);
    this.cached.delete(name);
  }

  async listProviderSecrets(names: readonly string[]): Promise<SecretInfo[]> {
    return [...new Set(names)].sort().map((name) => ({ name, set: this.stored.has(name), updatedAt: null }));
  }
}
