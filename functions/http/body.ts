import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { invalidRequest } from "#core/errors";

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Decodes and parses a JSON body, refusing anything over 16 KiB before parsing it.
 * Routes without a body schema ignore the body entirely.
 */
export function readJsonBody(
  event: APIGatewayProxyEventV2,
  headers: Record<string, string | undefined>,
  wanted: boolean,
): unknown {
  if (!wanted) return undefined;
  const raw = event.body ?? "";
  const bytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw, "utf8");
  if (bytes > MAX_BODY_BYTES) {
    throw invalidRequest([{ path: "(body)", message: `larger than ${MAX_BODY_BYTES} bytes` }]);
  }
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (text.trim() === "") throw invalidRequest([{ path: "(body)", message: "a JSON body is required" }]);
  const type = headers["content-type"];
  if (type !== undefined && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    throw invalidRequest([{ path: "(headers).content-type", message: "must be application/json" }]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest([{ path: "(body)", message: "not valid JSON" }]);
  }
}
