import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { SecretInfo, Secrets, ServiceSecret } from "#core/ports";
import { ExpiringCache } from "./expiring-cache.ts";
import { parseServiceSecret } from "./service-secret.ts";

export interface SecretsManagerSettings {
  serviceSecretId: string;
  /** Secret ids of the provider secrets the stack created, by the name configs use (`twilio`, ...). */
  providerSecretIds: Record<string, string>;
  /** Other names an app's config refers to live under this prefix, unique per deployed instance (`otp-service/<instance id>/`). */
  namePrefix: string;
  cacheMs?: number;
}

/**
 * Secrets from AWS Secrets Manager, each cached at most 5 minutes so a rotation needs no
 * deploy, and dropped at once when a provider answered "authentication failed".
 * A stack-created provider secret that admins have not filled yet holds `{"placeholder": "..."}`.
 */
export class SecretsManagerSecrets implements Secrets {
  private readonly service: ExpiringCache<ServiceSecret>;
  private readonly providers = new Map<string, ExpiringCache<Record<string, unknown> | undefined>>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly settings: SecretsManagerSettings,
  ) {
    this.service = new ExpiringCache(settings.cacheMs ?? 5 * 60_000, async () =>
      parseServiceSecret((await this.read(settings.serviceSecretId)) ?? "{}"),
    );
  }

  serviceSecret(): Promise<ServiceSecret> {
    return this.service.get();
  }

  providerSecret(name: string): Promise<Record<string, unknown> | undefined> {
    let cache = this.providers.get(name);
    if (!cache) {
      cache = new ExpiringCache(this.settings.cacheMs ?? 5 * 60_000, async () => {
        const text = await this.read(this.idOf(name));
        const value = text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
        return value && !("placeholder" in value) ? value : undefined;
      });
      this.providers.set(name, cache);
    }
    return cache.get();
  }

  refreshProviderSecret(name: string): void {
    this.providers.get(name)?.invalidate();
  }

  async putProviderSecret(name: string, value: Record<string, unknown>): Promise<void> {
    const secretId = this.idOf(name);
    const SecretString = JSON.stringify(value);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(new CreateSecretCommand({ Name: secretId, SecretString }));
    }
    this.refreshProviderSecret(name);
  }

  async listProviderSecrets(names: readonly string[]): Promise<SecretInfo[]> {
    return Promise.all(
      [...new Set(names)].sort().map(async (name) => {
        try {
          const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.idOf(name) }));
          const set = (await this.providerSecret(name)) !== undefined;
          return { name, set, updatedAt: set ? (described.LastChangedDate?.getTime() ?? null) : null };
        } catch (error) {
          if (error instanceof ResourceNotFoundException) return { name, set: false, updatedAt: null };
          throw error;
        }
      }),
    );
  }

  private idOf(name: string): string {
    return this.settings.providerSecretIds[name] ?? `${this.settings.namePrefix}${name}`;
  }

  private async read(secretId: string): Promise<string | undefined> {
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return result.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
