import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { digestsEqual, sha256Hex } from "#core/codes";
import { DomainError } from "#core/errors";
import { authenticateClient } from "#core/use-cases/authenticate-client";
import type { Route } from "#lib/routes";
import type { HandlerDeps } from "./deps.ts";

const bearerOf = (headers: Record<string, string | undefined>): string | undefined => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return match?.[1];
};

/**
 * Client routes: the app's API key. Admin routes: IAM (API Gateway has verified the SigV4
 * signature and says so in the request context) or, locally, the admin token. A client key
 * presented to an admin route is recognized and refused with 403.
 */
export async function authorize(
  deps: HandlerDeps,
  route: Route,
  headers: Record<string, string | undefined>,
  event: APIGatewayProxyEventV2,
): Promise<string> {
  const bearer = bearerOf(headers);
  switch (route.auth) {
    case "public":
    case "local":
      return "";
    case "client":
      return authenticateClient(deps, bearer);
    case "admin": {
      if (deps.adminAuth.kind === "iam") {
        const iam = (event.requestContext as { authorizer?: { iam?: unknown } }).authorizer?.iam;
        if (iam) return "";
      } else if (bearer && digestsEqual(sha256Hex(bearer), deps.adminAuth.tokenSha256)) {
        return "";
      }
      if (bearer && (await isClientKey(deps, bearer))) {
        throw new DomainError("forbidden", "API keys cannot call admin routes.");
      }
      throw new DomainError(
        "unauthorized",
        deps.adminAuth.kind === "iam"
          ? "Admin routes need an IAM (SigV4) signed request."
          : "Admin routes need the admin token: Authorization: Bearer <adminToken>.",
      );
    }
  }
}

async function isClientKey(deps: HandlerDeps, bearer: string): Promise<boolean> {
  try {
    await authenticateClient(deps, bearer);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}
