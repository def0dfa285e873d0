import { buildFunctions } from "#lib/build-functions";

/**
 * Vitest global setup of the infra tests: the construct deploys the prebuilt
 * `dist/functions/*` (what `npm run build` writes), so build them once per run, fresh.
 */
export default async function setup(): Promise<void> {
  await buildFunctions();
}
