/**
 * The OpenAPI document without `servers`. From source (the local stack, the tests) it is built
 * on first use from the route table and the zod schemas. `npm run build` replaces this module
 * with the document itself, built the same way at build time (`prebuiltOpenApi` in
 * lib/build-functions.ts): a Lambda never loads classic zod or its JSON Schema code, and
 * shares no zod code with its handler that would be parsed at every cold start.
 */
export async function documentBody(): Promise<Record<string, unknown>> {
  const { openApiBody } = await import("./openapi.ts");
  return openApiBody();
}
