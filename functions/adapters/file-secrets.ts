import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import type { SecretInfo, Secrets, ServiceSecret } from "#core/ports";
import { ExpiringCache } from "./expiring-cache.ts";
import { parseServiceSecret } from "./service-secret.ts";

const CACHE_MS = 5 * 60_000;

interface SecretsFile {
  service?: unknown;
  providers?: Record<string, { value: Record<string, unknown>; updatedAt: number }>;
}

/** Local stand-in for Secrets Manager: one JSON file, mode 0600, read through the same cache rules. */
export class FileSecrets implements Secrets {
  private readonly service: ExpiringCache<ServiceSecret>;
  private readonly providers = new Map<string, ExpiringCache<Record<string, unknown> | undefined>>();

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    this.service = new ExpiringCache(CACHE_MS, async () =>
      parseServiceSecret(JSON.stringify((await this.read()).service ?? {})),
    );
  }

  serviceSecret(): Promise<ServiceSecret> {
    return this.service.get();
  }

  providerSecret(name: string): Promise<Record<string, unknown> | undefined> {
    let cache = this.providers.get(name);
    if (!cache) {
      cache = new ExpiringCache(CACHE_MS, async () => (await this.read()).providers?.[name]?.value);
      this.providers.set(name, cache);
    }
    return cache.get();
  }

  refreshProviderSecret(name: string): void {
    this.providers.get(name)?.invalidate();
  }

  async putProviderSecret(name: string, value: Record<string, unknown>): Promise<void> {
    const file = await this.read();
    file.providers = { ...(file.providers ?? {}), [name]: { value, updatedAt: this.now() } };
    const temp = `${this.path}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, this.path);
    this.refreshProviderSecret(name);
  }

  async listProviderSecrets(names: readonly string[]): Promise<SecretInfo[]> {
    const providers = (await this.read()).providers ?? {};
    const all = [...new Set([...names, ...Object.keys(providers)])].sort();
    return all.map((name) => ({
      name,
      set: providers[name] !== undefined,
      updatedAt: providers[name]?.updatedAt ?? null,
    }));
  }

  private async read(): Promise<SecretsFile> {
    return JSON.parse(await readFile(this.path, "utf8")) as SecretsFile;
  }
}
