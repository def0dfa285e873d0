import * as z from "#core/schema";
import type { ProviderSecretSpec } from "../secret.ts";

/** The Sinch secret (`sms.sinch.secretName`, usually `sinch-verification-api`): the application key and its (base64) secret. */
export const sinchSecretSchema = z.lazy(() =>
  z.strictObject({
    authenticationId: z.string().check(z.minLength(1), z.maxLength(200)),
    secret: z.string().check(z.minLength(1), z.maxLength(500)),
  }),
);

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
