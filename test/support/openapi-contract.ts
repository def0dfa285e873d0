import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Reply } from "./harness.ts";

interface MediaType {
  schema?: unknown;
}
interface ResponseDoc {
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, MediaType>;
}
export interface OpenApiDoc {
  servers?: { url: string }[];
  paths: Record<string, Record<string, { responses: Record<string, ResponseDoc> }>>;
  components: { schemas: Record<string, unknown> };
}

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

export type ContractChecker = ReturnType<typeof contractChecker>;

/**
 * Checks real answers against the served OpenAPI document: the status must be documented for
 * the operation, the body valid against the schema of its media type (response objects are
 * closed, so an undocumented field fails as a missing or mistyped one does), and every
 * required header present. Records which operations and statuses were seen.
 */
export function contractChecker(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc as object, "openapi.json");
  const seen = new Set<string>();

  const problems = (method: string, path: string, reply: Reply): string[] => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) return [`${method} ${path} is not in the document`];
    const status = String(reply.status);
    const documented = op.responses[status];
    if (!documented) return [`${method} ${path} answered ${status}, which is not documented: ${reply.text}`];
    seen.add(`${method} ${path} ${status}`);
    const errors: string[] = [];
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      if (header.required && reply.headers[name.toLowerCase()] === undefined)
        errors.push(`header ${name} is documented as required but missing`);
    }
    if (!documented.content) {
      if (reply.text !== "")
        errors.push(`${status} is documented without a body, but one came: ${reply.text}`);
      return errors;
    }
    const mediaType = (reply.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    if (!documented.content[mediaType]) return [...errors, `${status} is not documented as ${mediaType}`];
    const ref = `openapi.json#/${pointer("paths", path, method.toLowerCase(), "responses", status, "content", mediaType, "schema")}`;
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    if (!validate(JSON.parse(reply.text)))
      for (const e of validate.errors ?? [])
        errors.push(`${e.instancePath || "(body)"} ${e.message} ${JSON.stringify(e.params)}`);
    return errors;
  };

  return {
    /** The reasons `reply` does not match the document (empty when it does). */
    problems,
    /** `METHOD path status` of every answer checked so far. */
    seen,
  };
}
