import { z } from "zod";
import type { ProviderSecretSpec } from "../secret.ts";

/** The Sinch secret (`sms.sinch.secretName`, usually `sinch-verification-api`): the application key and its (base64) secret. */
export const sinchSecretSchema = z.strictObject({
  authenticationId: z.string().min(1).max(200),
  secret: z.string().min(1).max(500),
});

export type SinchSecret = z.infer<typeof sinchSecretSchema>;

export const sinchSecret: ProviderSecretSpec<SinchSecret> = {
  provider: "sinch",
  label: "Sinch",
  defaultName: "sinch-verification-api",
  marker: "authenticationId",
  summary: "a Sinch secret { authenticationId, secret }",
  schema: sinchSecretSchema,
  secretNameIn: (config) => config.sms.sinch.secretName,
};
