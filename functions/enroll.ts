import type { FactorRecord } from "#core/ports";
import { activateFactor } from "#core/use-cases/activate-factor";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { disableMfa, regenerateRecoveryCodes, removeFactor } from "#core/use-cases/manage-mfa";
import { cloudDeps } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";
import { once } from "#http/deps";
import { createHandler, json, noContent, type RouteImpls, route } from "#http/handler";
import { activateBody, enrollBody, idParam, iso, isoOrNull, userIdParam } from "#http/schemas";

const factorView = (f: FactorRecord, status: "pending" | "active") => ({
  factorId: f.factorId,
  type: f.type,
  status,
  destination: f.destination,
  createdAt: iso(f.createdAt),
});

export const enrollRoutes: RouteImpls = {
  "POST /v1/users/{userId}/factors": route({
    body: enrollBody,
    run: async ({ appId, params, body, ip }, deps) => {
      const { factor, challengeId, expiresAt, reveal } = await enrollFactor(deps, {
        ...(body as { type: string } & Record<string, unknown>),
        appId,
        ip,
        userId: userIdParam(params),
      });
      return json(201, {
        ...factorView(factor, "pending"),
        ...(challengeId === undefined ? {} : { challengeId }),
        ...(expiresAt === undefined ? {} : { expiresAt: iso(expiresAt) }),
        ...reveal,
      });
    },
  }),
  "POST /v1/users/{userId}/factors/{factorId}/activate": route({
    body: activateBody,
    run: async ({ appId, params, body, ip }, deps) => {
      const activation = await activateFactor(deps, {
        appId,
        ip,
        userId: userIdParam(params),
        factorId: idParam(params, "factorId"),
        ...body,
      });
      return json(200, {
        factor: {
          ...factorView(activation.factor, "active"),
          activatedAt: isoOrNull(activation.factor.activatedAt),
        },
        ...(activation.recoveryCodes ? { recoveryCodes: activation.recoveryCodes } : {}),
      });
    },
  }),
  "GET /v1/users/{userId}/factors": route({
    run: async ({ appId, params }, deps) => {
      const list = await listFactors(deps, { appId, userId: userIdParam(params) });
      return json(200, {
        ...list,
        factors: list.factors.map(({ details, ...f }) => ({
          ...details,
          ...f,
          createdAt: iso(f.createdAt),
          lastUsedAt: isoOrNull(f.lastUsedAt),
        })),
      });
    },
  }),
  "DELETE /v1/users/{userId}/factors/{factorId}": route({
    run: async ({ appId, params, ip }, deps) => {
      await removeFactor(deps, {
        appId,
        ip,
        userId: userIdParam(params),
        factorId: idParam(params, "factorId"),
      });
      return noContent();
    },
  }),
  "POST /v1/users/{userId}/recovery-codes": route({
    run: async ({ appId, params, ip }, deps) =>
      json(201, {
        recoveryCodes: await regenerateRecoveryCodes(deps, { appId, ip, userId: userIdParam(params) }),
      }),
  }),
  "DELETE /v1/users/{userId}/mfa": route({
    run: async ({ appId, params, ip }, deps) => {
      await disableMfa(deps, { appId, ip, userId: userIdParam(params) });
      return noContent();
    },
  }),
};

export const handler = createHandler(
  "enroll",
  enrollRoutes,
  once(() => cloudDeps(allProviders)),
);
