import { recordAudit } from "../audit.ts";
import { type AppConfig, defaultAppConfig } from "../config.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Deps } from "../ports.ts";
import { apiKeyHash, newApiKey } from "../sessions.ts";

export interface CreatedApp {
  appId: string;
  apiKey: string;
  keyId: string;
}

/** Creates an app with the default policy and its first API key; the key is returned once, stored hashed. */
export async function createApp(
  deps: Pick<Deps, "store" | "clock" | "audit">,
  input: {
    name: string;
    appId?: string;
    actor?: string;
    /** Changes to the default policy for this app's first config (the local stack: WebAuthn on localhost). */
    configure?: (config: AppConfig) => AppConfig;
  },
): Promise<CreatedApp> {
  const appId = input.appId ?? newId("app");
  if (input.appId !== undefined && (await deps.store.getApp(appId))) {
    throw new DomainError("invalid_request", `App ${appId} exists already.`);
  }
  const now = deps.clock.now();
  const apiKey = newApiKey();
  const keyId = newId("key");
  const config = (input.configure ?? ((c: AppConfig) => c))(defaultAppConfig(input.name));
  await deps.store.createApp({ appId, name: input.name, createdAt: now }, config, {
    keyHash: apiKeyHash(apiKey),
    keyId,
    appId,
    createdAt: now,
  });
  await Promise.all([
    recordAudit(deps, { appId, type: "app.created", outcome: "created", actor: input.actor }),
    recordAudit(deps, {
      appId,
      type: "apikey.created",
      outcome: "created",
      target: keyId,
      actor: input.actor,
    }),
  ]);
  return { appId, apiKey, keyId };
}
