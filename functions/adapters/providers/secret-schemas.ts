import type { ProviderSecretSchema } from "#core/ports";
import { sinchSecret } from "./sinch/secret.ts";
import { twilioSecret } from "./twilio/secret.ts";

/**
 * Every provider's secret schema, for the admin route (`PUT /v1/admin/secrets/{name}` checks a
 * body with the provider's own schema; `GET /v1/admin/secrets` lists their usual names). Only
 * schemas: no adapter, no SDK.
 */
export const providerSecretSchemas: readonly ProviderSecretSchema[] = [twilioSecret, sinchSecret];
