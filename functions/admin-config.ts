import { providerSecretSchemas } from "#adapters/providers/secret-schemas";
import { DomainError, invalidRequest } from "#core/errors";
import type { DeliverySetup } from "#core/ports";
import {
  createApiKey,
  getUser,
  listApps,
  listAudit,
  revokeAllSessions,
  revokeApiKey,
  unlockUser,
} from "#core/use-cases/admin";
import { getAppConfig, getEditableConfig, patchAppConfig, updateAppConfig } from "#core/use-cases/app-config";
import { createApp } from "#core/use-cases/create-app";
import { diagnoseApp } from "#core/use-cases/doctor";
import { listProviderSecrets, putProviderSecret } from "#core/use-cases/provider-secrets";
import { resumeCountry, smsProtectionStatus } from "#core/use-cases/sms-protection";
import { sendTestMessage } from "#core/use-cases/test-message";
import { cloudDeps, cloudRequestHandler } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";
import { once } from "#http/deps";
import { createHandler, json, noContent, type RouteImpls, route } from "#http/handler";
import {
  auditQuery,
  configBody,
  createAppBody,
  idParam,
  iso,
  isoOrNull,
  resumeCountryBody,
  secretBody,
  testMessageBody,
  userIdParam,
} from "#http/schemas";

const etag = (version: number): string => `"${version}"`;
const MERGE_PATCH = "application/merge-patch+json";

/**
 * `If-Match: "7"` (or `W/"7"`), or `*` for "whatever is current". It is required: a config
 * write without one could silently undo another admin's change.
 */
function parseIfMatch(header: string | undefined): number | "*" {
  if (header === undefined || header.trim() === "") {
    throw new DomainError(
      "precondition_required",
      'Send If-Match with the ETag of the config you edited (or "*").',
    );
  }
  if (header.trim() === "*") return "*";
  const match = /^\s*(?:W\/)?"?(\d{1,12})"?\s*$/.exec(header);
  if (!match?.[1]) {
    throw invalidRequest([
      { path: "(headers).if-match", message: 'the ETag of the config you edited, such as "7", or *' },
    ]);
  }
  return Number(match[1]);
}

export const adminRoutes: RouteImpls = {
  "POST /v1/admin/apps": route({
    body: createAppBody,
    run: async ({ body, actor }, deps) => json(201, await createApp(deps, { name: body.name, actor })),
  }),
  "GET /v1/admin/apps/{appId}/config": route({
    run: async ({ params }, deps) => {
      const { config, version } = await getEditableConfig(deps, idParam(params, "appId"));
      return json(200, config, { etag: etag(version) });
    },
  }),
  "PUT /v1/admin/apps/{appId}/config": route({
    body: configBody,
    run: async ({ params, body, headers, actor }, deps) => {
      const { config, version } = await updateAppConfig(deps, {
        appId: idParam(params, "appId"),
        actor,
        body,
        ifMatch: parseIfMatch(headers["if-match"]),
      });
      return json(200, config, { etag: etag(version) });
    },
  }),
  "PATCH /v1/admin/apps/{appId}/config": route({
    body: configBody,
    contentType: MERGE_PATCH,
    run: async ({ params, body, headers, actor }, deps) => {
      const { config, version } = await patchAppConfig(deps, {
        appId: idParam(params, "appId"),
        actor,
        patch: body,
        ifMatch: parseIfMatch(headers["if-match"]),
      });
      return json(200, config, { etag: etag(version) });
    },
  }),
  "GET /v1/admin/apps/{appId}/doctor": route({
    run: async ({ params }, deps) => {
      const { deliverySetup } = deps;
      if (!deliverySetup) throw new DomainError("unavailable", "This function has no delivery setup to ask.");
      const report = await diagnoseApp(
        { ...deps, deliverySetup },
        providerSecretSchemas,
        idParam(params, "appId"),
      );
      return json(200, report);
    },
  }),
  "GET /v1/admin/secrets": route({
    run: async (_, deps) => {
      const secrets = await listProviderSecrets(deps, providerSecretSchemas);
      return json(200, { secrets: secrets.map((s) => ({ ...s, updatedAt: isoOrNull(s.updatedAt) })) });
    },
  }),
  "PUT /v1/admin/secrets/{name}": route({
    body: secretBody,
    run: async ({ params, body, actor }, deps) => {
      await putProviderSecret(deps, providerSecretSchemas, { name: params.name ?? "", body, actor });
      return noContent();
    },
  }),
  "POST /v1/admin/apps/{appId}/test-message": route({
    body: testMessageBody,
    run: async ({ params, body }, deps) => {
      const delivery = await sendTestMessage(deps, { appId: idParam(params, "appId"), ...body });
      return json(200, { delivered: true, ...delivery });
    },
  }),
  "GET /v1/admin/apps/{appId}/sms-protection": route({
    run: async ({ params }, deps) => {
      const ctx = await getAppConfig(deps, idParam(params, "appId"));
      const view = await smsProtectionStatus(deps, ctx);
      return json(200, {
        ...view,
        countries: view.countries.map((c) => ({ ...c, pausedUntil: isoOrNull(c.pausedUntil) })),
      });
    },
  }),
  "POST /v1/admin/apps/{appId}/sms-protection/resume": route({
    body: resumeCountryBody,
    run: async ({ params, body, actor }, deps) => {
      const ctx = await getAppConfig(deps, idParam(params, "appId"));
      await resumeCountry(deps, ctx, body.country, actor);
      return noContent();
    },
  }),
  "GET /v1/admin/apps": route({
    run: async (_, deps) => {
      const apps = await listApps(deps);
      return json(200, {
        apps: apps.map((a) => ({ appId: a.appId, name: a.name, createdAt: iso(a.createdAt) })),
      });
    },
  }),
  "POST /v1/admin/apps/{appId}/api-keys": route({
    run: async ({ params, actor }, deps) =>
      json(201, await createApiKey(deps, idParam(params, "appId"), actor)),
  }),
  "DELETE /v1/admin/apps/{appId}/api-keys/{keyId}": route({
    run: async ({ params, actor }, deps) => {
      await revokeApiKey(deps, idParam(params, "appId"), idParam(params, "keyId"), actor);
      return noContent();
    },
  }),
  "GET /v1/admin/apps/{appId}/users/{userId}": route({
    run: async ({ params }, deps) => {
      const user = await getUser(deps, idParam(params, "appId"), userIdParam(params));
      return json(200, {
        ...user,
        lockedUntil: isoOrNull(user.lockedUntil),
        factors: user.factors.map((f) => ({ ...f, createdAt: iso(f.createdAt) })),
      });
    },
  }),
  "POST /v1/admin/apps/{appId}/users/{userId}/unlock": route({
    run: async ({ params, actor }, deps) => {
      await unlockUser(deps, idParam(params, "appId"), userIdParam(params), actor);
      return noContent();
    },
  }),
  "POST /v1/admin/apps/{appId}/sessions/revoke-all": route({
    run: async ({ params, actor }, deps) => {
      await revokeAllSessions(deps, idParam(params, "appId"), actor);
      return noContent();
    },
  }),
  "GET /v1/admin/apps/{appId}/audit": route({
    run: async ({ params, query }, deps) => {
      const page = await listAudit(deps, idParam(params, "appId"), auditQuery(query));
      return json(200, {
        events: page.events.map(({ appId: _, at, ...event }) => ({ at: iso(at), ...event })),
        nextCursor: page.nextCursor,
      });
    },
  }),
  "GET /openapi.json": route({
    run: async ({ origin, headers }) => {
      // Loaded by the first request for it, not by every cold start; prebuilt in the Lambda (openapi-prebuilt.ts).
      const { servedOpenApiDocument } = await import("#http/openapi-served");
      return json(200, await servedOpenApiDocument({ ...origin, proto: headers["x-forwarded-proto"] }), {
        "cache-control": "public, max-age=300",
        // `servers` is built from these: a shared cache must not hand one host's document to another.
        vary: "Host, X-Forwarded-Proto",
      });
    },
  }),
  "GET /healthz": route({ run: async () => json(200, { ok: true }) }),
};

export const handler = createHandler(
  "admin-config",
  adminRoutes,
  once(() =>
    cloudDeps(allProviders, {
      appCacheMs: 0,
      deliverySetup: sesDeliverySetup,
    }),
  ),
);

/** The doctor's SES questions, with the SES client imported by the first doctor request only. */
function sesDeliverySetup(offered: DeliverySetup["offered"]): DeliverySetup {
  const load = once(async () => {
    const [{ SESv2Client }, { SesDeliverySetup }] = await Promise.all([
      import("@aws-sdk/client-sesv2"),
      import("#adapters/delivery-setup/ses-delivery-setup"),
    ]);
    return new SesDeliverySetup(
      new SESv2Client({ maxAttempts: 2, requestHandler: cloudRequestHandler }),
      offered,
    );
  });
  return {
    offered,
    emailIdentity: async (fromAddress) => (await load()).emailIdentity(fromAddress),
    emailSandbox: async () => (await load()).emailSandbox(),
  };
}
