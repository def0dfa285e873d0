import { createOtpClient, type OtpClient } from "../client/index.ts";
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

type Answer<T> = { data?: T; response: Response };

/**
 * The admin routes, one method each, through the typed client generated from the service's
 * OpenAPI document (`lib/client/`): a path, parameter or body the document does not have is a
 * compile error here. It only knows a base URL and a `fetch`: the target (local admin token or
 * SigV4) is whichever `fetch` it is given.
 */
export class AdminApi {
  readonly baseUrl: string;
  private readonly client: OtpClient;

  constructor(baseUrl: string, fetch: typeof globalThis.fetch) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.client = createOtpClient({
      baseUrl: this.baseUrl,
      headers: { accept: "application/json" },
      // Every refusal becomes an ApiError with the problem document, before the client parses it.
      fetch: async (request) => {
        let response: Response;
        try {
          response = await fetch(request);
        } catch (error) {
          // fetch reports a network failure as a TypeError; anything else (no AWS credentials, say) is its own story.
          if (error instanceof TypeError) throw UnreachableError.from(this.baseUrl, error);
          throw error;
        }
        if (!response.ok) throw await ApiError.from(response);
        return response;
      },
    });
  }

  async createApp(name: string): Promise<CreatedApp> {
    return data(await this.client.POST("/v1/admin/apps", { body: { name } }));
  }

  async listApps(): Promise<AppSummary[]> {
    return data(await this.client.GET("/v1/admin/apps")).apps;
  }

  async createApiKey(appId: string): Promise<CreatedKey> {
    return data(await this.client.POST("/v1/admin/apps/{appId}/api-keys", { params: { path: { appId } } }));
  }

  async revokeApiKey(appId: string, keyId: string): Promise<void> {
    await this.client.DELETE("/v1/admin/apps/{appId}/api-keys/{keyId}", {
      params: { path: { appId, keyId } },
    });
  }

  async getConfig(appId: string): Promise<VersionedConfig> {
    return versioned(await this.client.GET("/v1/admin/apps/{appId}/config", { params: { path: { appId } } }));
  }

  /** RFC 7396 merge patch, guarded by the version the caller read. */
  async patchConfig(appId: string, patch: JsonObject, ifMatch: string): Promise<VersionedConfig> {
    return versioned(
      await this.client.PATCH("/v1/admin/apps/{appId}/config", {
        params: { path: { appId }, header: { "If-Match": ifMatch } },
        // Any JSON object: the service checks the patched document as a whole and names each bad path.
        body: patch as never,
        headers: { "content-type": "application/merge-patch+json" },
      }),
    );
  }

  async putConfig(appId: string, config: JsonObject, ifMatch: string): Promise<VersionedConfig> {
    return versioned(
      await this.client.PUT("/v1/admin/apps/{appId}/config", {
        params: { path: { appId }, header: { "If-Match": ifMatch } },
        // A file's document is checked by the service, which names every missing or bad path.
        body: config as never,
      }),
    );
  }

  async listSecrets(): Promise<SecretInfo[]> {
    return data(await this.client.GET("/v1/admin/secrets")).secrets;
  }

  async putSecret(name: string, value: unknown): Promise<void> {
    await this.client.PUT("/v1/admin/secrets/{name}", {
      params: { path: { name } },
      // The provider's own shape; the service checks it against that provider's schema.
      body: value as never,
    });
  }

  async testMessage(appId: string, channel: "sms" | "email", to: string): Promise<TestDelivery> {
    return data(
      await this.client.POST("/v1/admin/apps/{appId}/test-message", {
        params: { path: { appId } },
        body: { channel, to },
      }),
    );
  }

  async getUser(appId: string, userId: string): Promise<UserView> {
    return data(
      await this.client.GET("/v1/admin/apps/{appId}/users/{userId}", { params: { path: { appId, userId } } }),
    );
  }

  async unlockUser(appId: string, userId: string): Promise<void> {
    await this.client.POST("/v1/admin/apps/{appId}/users/{userId}/unlock", {
      params: { path: { appId, userId } },
    });
  }

  async revokeAllSessions(appId: string): Promise<void> {
    await this.client.POST("/v1/admin/apps/{appId}/sessions/revoke-all", { params: { path: { appId } } });
  }

  async audit(
    appId: string,
    query: { userId?: string; limit?: number; cursor?: string },
  ): Promise<AuditPage> {
    return data(
      await this.client.GET("/v1/admin/apps/{appId}/audit", { params: { path: { appId }, query } }),
    );
  }

  async smsProtection(appId: string): Promise<SmsProtectionView> {
    return data(
      await this.client.GET("/v1/admin/apps/{appId}/sms-protection", { params: { path: { appId } } }),
    );
  }

  async resumeSmsCountry(appId: string, country: string): Promise<void> {
    await this.client.POST("/v1/admin/apps/{appId}/sms-protection/resume", {
      params: { path: { appId } },
      body: { country },
    });
  }

  async doctor(appId: string): Promise<DoctorReport> {
    return data(await this.client.GET("/v1/admin/apps/{appId}/doctor", { params: { path: { appId } } }));
  }
}

/** A success always has its documented body: refusals were thrown by the fetch above. */
function data<T>(answer: Answer<T>): T {
  if (answer.data === undefined) throw new Error(`${answer.response.url} answered without a body`);
  return answer.data;
}

function versioned(answer: Answer<unknown>): VersionedConfig {
  return { config: data(answer) as JsonObject, etag: answer.response.headers.get("etag") ?? "" };
}
