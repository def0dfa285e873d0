import type { Factor } from "#core/ports";
import { activateFactor } from "#core/use-cases/activate-factor";
import { enrollFactor } from "#core/use-cases/enroll-factor";
import { listFactors } from "#core/use-cases/list-factors";
import { cloudDeps } from "#http/cloud-deps";
import { once } from "#http/deps";
import { createHandler, json, type RouteImpls, route } from "#http/handler";
import { activateBody, enrollBody, iso, isoOrNull, userIdParam } from "#http/schemas";

const factorView = (f: Factor) => ({
  factorId: f.factorId,
  type: f.type,
  status: f.status,
  destination: f.destination,
  createdAt: iso(f.createdAt),
});

export const enrollRoutes: RouteImpls = {
  "POST /v1/users/{userId}/factors": route({
    body: enrollBody,
    run: async ({ appId, params, body }, deps) => {
      const enrolled = await enrollFactor(deps, { ...body, appId, userId: userIdParam(params) });
      return json(201, {
        ...factorView(enrolled.factor),
        challengeId: enrolled.challengeId,
        expiresAt: iso(enrolled.expiresAt),
      });
    },
  }),
  "POST /v1/users/{userId}/factors/{factorId}/activate": route({
    body: activateBody,
    run: async ({ appId, params, body }, deps) => {
      const activation = await activateFactor(deps, {
        appId,
        userId: userIdParam(params),
        factorId: params.factorId ?? "",
        code: body.code,
      });
      return json(200, {
        factor: { ...factorView(activation.factor), activatedAt: isoOrNull(activation.factor.activatedAt) },
        ...(activation.recoveryCodes ? { recoveryCodes: activation.recoveryCodes } : {}),
      });
    },
  }),
  "GET /v1/users/{userId}/factors": route({
    run: async ({ appId, params }, deps) => {
      const list = await listFactors(deps, { appId, userId: userIdParam(params) });
      return json(200, {
        ...list,
        factors: list.factors.map((f) => ({
          ...f,
          createdAt: iso(f.createdAt),
          lastUsedAt: isoOrNull(f.lastUsedAt),
        })),
      });
    },
  }),
};

export const handler = createHandler("enroll", enrollRoutes, once(cloudDeps));
