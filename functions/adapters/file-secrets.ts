import { readFile } from "node:fs/promises";
import type { Secrets, ServiceSecret } from "#core/ports";
import { ExpiringCache } from "./expiring-cache.ts";
import { parseServiceSecret } from "./service-secret.ts";

/** Local stand-in for Secrets Manager: one JSON file (mode 0600) `{ "service": {...}, "<name>": {...} }`. */
export class FileSecrets implements Secrets {
  private readonly service: ExpiringCache<ServiceSecret>;

  constructor(private readonly path: string) {
    this.service = new ExpiringCache(5 * 60_000, async () => {
      const file = JSON.parse(await readFile(this.path, "utf8")) as Record<string, unknown>;
      return parseServiceSecret(JSON.stringify(file.service ?? {}));
    });
  }

  serviceSecret(): Promise<ServiceSecret> {
    return this.service.get();
  }
}
