import type {
  AppSummary,
  AuditPage,
  CreatedApp,
  CreatedKey,
  DoctorReport,
  JsonObject,
  SecretInfo,
  SmsProtectionView,
  TestDelivery,
  UserView,
  VersionedConfig,
} from "./admin-types.ts";
import { ApiError, UnreachableError } from "./errors.ts";

interface CallOptions {
  body?: unknown;
  contentType?: string;
  ifMatch?: string;
  query?: Record<string, string | number | undefined>;
}

const seg = encodeURIComponent;

/**
 * The admin routes, one method each. It only knows a base URL and a `fetch`: the target
 * (local admin token or SigV4) is whichever `fetch` it is given.
 */
export class AdminApi {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly fetch: typeof globalThis.fetch,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  createApp(name: string): Promise<CreatedApp> {
    return this.json("POST", "/v1/admin/apps", { body: { name } });
  }

  async listApps(): Promise<AppSummary[]> {
    return (await this.json<{ apps: AppSummary[] }>("GET", "/v1/admin/apps")).apps;
  }

  createApiKey(appId: string): Promise<CreatedKey> {
    return this.json("POST", `/v1/admin/apps/${seg(appId)}/api-keys`);
  }

  async revokeApiKey(appId: string, keyId: string): Promise<void> {
    await this.call("DELETE", `/v1/admin/apps/${seg(appId)}/api-keys/${seg(keyId)}`);
  }

  getConfig(appId: string): Promise<VersionedConfig> {
    return this.versioned("GET", appId);
  }

  /** RFC 7396 merge patch, guarded by the version the caller read. */
  patchConfig(appId: string, patch: JsonObject, ifMatch: string): Promise<VersionedConfig> {
    return this.versioned("PATCH", appId, {
      body: patch,
      contentType: "application/merge-patch+json",
      ifMatch,
    });
  }

  putConfig(appId: string, config: JsonObject, ifMatch: string): Promise<VersionedConfig> {
    return this.versioned("PUT", appId, { body: config, ifMatch });
  }

  async listSecrets(): Promise<SecretInfo[]> {
    return (await this.json<{ secrets: SecretInfo[] }>("GET", "/v1/admin/secrets")).secrets;
  }

  async putSecret(name: string, value: unknown): Promise<void> {
    await this.call("PUT", `/v1/admin/secrets/${seg(name)}`, { body: value });
  }

  testMessage(appId: string, channel: "sms" | "email", to: string): Promise<TestDelivery> {
    return this.json("POST", `/v1/admin/apps/${seg(appId)}/test-message`, { body: { channel, to } });
  }

  getUser(appId: string, userId: string): Promise<UserView> {
    return this.json("GET", `/v1/admin/apps/${seg(appId)}/users/${seg(userId)}`);
  }

  async unlockUser(appId: string, userId: string): Promise<void> {
    await this.call("POST", `/v1/admin/apps/${seg(appId)}/users/${seg(userId)}/unlock`);
  }

  async revokeAllSessions(appId: string): Promise<void> {
    await this.call("POST", `/v1/admin/apps/${seg(appId)}/sessions/revoke-all`);
  }

  audit(appId: string, query: { userId?: string; limit?: number; cursor?: string }): Promise<AuditPage> {
    return this.json("GET", `/v1/admin/apps/${seg(appId)}/audit`, { query });
  }

  smsProtection(appId: string): Promise<SmsProtectionView> {
    return this.json("GET", `/v1/admin/apps/${seg(appId)}/sms-protection`);
  }

  async resumeSmsCountry(appId: string, country: string): Promise<void> {
    await this.call("POST", `/v1/admin/apps/${seg(appId)}/sms-protection/resume`, { body: { country } });
  }

  doctor(appId: string): Promise<DoctorReport> {
    return this.json("GET", `/v1/admin/apps/${seg(appId)}/doctor`);
  }

  private async versioned(method: string, appId: string, options?: CallOptions): Promise<VersionedConfig> {
    const response = await this.call(method, `/v1/admin/apps/${seg(appId)}/config`, options);
    return { config: (await response.json()) as JsonObject, etag: response.headers.get("etag") ?? "" };
  }

  private async json<T>(method: string, path: string, options?: CallOptions): Promise<T> {
    return (await (await this.call(method, path, options)).json()) as T;
  }

  private async call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      // fetch reports a network failure as a TypeError; anything else (no AWS credentials, say) is its own story.
      if (error instanceof TypeError) throw UnreachableError.from(this.baseUrl, error);
      throw error;
    }
    if (!response.ok) throw await ApiError.from(response);
    return response;
  }
}
