import { sendChallenge } from "#core/use-cases/send-challenge";
import { cloudDeps } from "#http/cloud-deps";
import { allProviders } from "#http/cloud-providers";
import { once } from "#http/deps";
import { createHandler, json, type RouteImpls, route } from "#http/handler";
import { idempotent } from "#http/idempotency";
import { challengeBody, iso } from "#http/schemas";

export const sendRoutes: RouteImpls = {
  "POST /v1/challenges": idempotent(
    route({
      body: challengeBody,
      run: async ({ appId, body, ip }, deps) => {
        const sent = await sendChallenge(deps, { ...body, appId, ip });
        // A started challenge (WebAuthn) shows what the client needs to answer it (`requestOptions`).
        const { reveal, ...challenge } = "reveal" in sent ? sent : { ...sent, reveal: {} };
        return json(201, { ...challenge, ...reveal, expiresAt: iso(sent.expiresAt) });
      },
    }),
  ),
};

export const handler = createHandler(
  "send",
  sendRoutes,
  once(() => cloudDeps(allProviders)),
);
