import { createSinchVerification } from "#adapters/providers/sinch/provider";
import { revokeUserSessions } from "#core/use-cases/manage-mfa";
import { validateSession } from "#core/use-cases/validate-session";
import { verifyCode } from "#core/use-cases/verify-code";
import { cloudDeps } from "#http/cloud-deps";
import { once } from "#http/deps";
import { createHandler, json, noContent, type RouteImpls, route } from "#http/handler";
import { iso, userIdParam, validateSessionBody, verificationBody } from "#http/schemas";

export const verifyRoutes: RouteImpls = {
  "POST /v1/verifications": route({
    body: verificationBody,
    run: async ({ appId, body, ip }, deps) => {
      const approval = await verifyCode(deps, { ...body, appId, ip });
      return json(200, { ...approval, sessionExpiresAt: iso(approval.sessionExpiresAt) });
    },
  }),
  "POST /v1/sessions/validate": route({
    body: validateSessionBody,
    run: async ({ appId, body }, deps) => {
      const validity = await validateSession(deps, { appId, sessionToken: body.sessionToken });
      return json(200, validity.valid ? { ...validity, expiresAt: iso(validity.expiresAt) } : validity);
    },
  }),
  "DELETE /v1/users/{userId}/sessions": route({
    run: async ({ appId, params, ip }, deps) => {
      await revokeUserSessions(deps, { appId, ip, userId: userIdParam(params) });
      return noContent();
    },
  }),
};

// Verifying sends nothing: only Sinch, which checks the codes it sent itself. No SES, no Twilio in this bundle.
export const handler = createHandler(
  "verify",
  verifyRoutes,
  once(() => cloudDeps((secrets) => ({ sms: { sinch: createSinchVerification({ secrets }) } }))),
);
