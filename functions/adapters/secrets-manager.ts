import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Secrets, ServiceSecret } from "#core/ports";
import { ExpiringCache } from "./expiring-cache.ts";
import { parseServiceSecret } from "./service-secret.ts";

/** Secrets from AWS Secrets Manager, each cached at most 5 minutes so a rotation needs no deploy. */
export class SecretsManagerSecrets implements Secrets {
  private readonly service: ExpiringCache<ServiceSecret>;

  constructor(
    private readonly client: SecretsManagerClient,
    settings: { serviceSecretId: string; cacheMs?: number },
  ) {
    this.service = new ExpiringCache(settings.cacheMs ?? 5 * 60_000, async () =>
      parseServiceSecret(await this.read(settings.serviceSecretId)),
    );
  }

  serviceSecret(): Promise<ServiceSecret> {
    return this.service.get();
  }

  private async read(secretId: string): Promise<string> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (result.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
    return result.SecretString;
  }
}
