import type { components } from "../client/index.ts";

/** JSON as the CLI reads and writes it (config files, patches, secrets). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The admin routes' answers: the generated OpenAPI types, so the CLI cannot drift from the service. */
type Schemas = components["schemas"];
export type CreatedApp = Schemas["CreatedApp"];
export type AppSummary = Schemas["AppList"]["apps"][number];
export type CreatedKey = Schemas["ApiKey"];
export type SecretInfo = Schemas["SecretList"]["secrets"][number];
export type TestDelivery = Schemas["TestDelivery"];
export type UserView = Schemas["UserAdminView"];
export type UserFactor = UserView["factors"][number];
export type AuditPage = Schemas["AuditPage"];
export type AuditEvent = AuditPage["events"][number];
export type SmsProtectionView = Schemas["SmsProtectionStatus"];
export type SmsCountry = SmsProtectionView["countries"][number];
export type DoctorReport = Schemas["DoctorReport"];
export type DoctorCheck = DoctorReport["checks"][number];

export interface VersionedConfig {
  config: JsonObject;
  /** The ETag to send back in If-Match, e.g. `"7"`. */
  etag: string;
}
