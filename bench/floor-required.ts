import { parseAppConfig } from "#core/config";
import { platformHandler } from "./floor-platform.ts";

/**
 * The floor plus what every function must load before any code of its own: the platform
 * (`floor-platform.ts`: Powertools Logger and Metrics, the Secrets Manager and EventBridge
 * clients) and the app's stored config checked against its zod/mini schema on the way in
 * (SECURITY rule 27: the loader rejects out-of-range stored values). The gap between this and
 * a function is the function's own code.
 */
export const handler = platformHandler(parseAppConfig);
