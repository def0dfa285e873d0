/**
 * The validation library every Lambda loads: zod's tree-shakable `zod/mini` (about 30 KiB in a
 * bundle, against 440 KiB for classic zod, most of a cold start's parse and evaluation). The same
 * schemas give the OpenAPI document (`z.toJSONSchema`), so the contract and the checks cannot drift.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini carries no messages of its own ("Invalid input" everywhere); the API's field errors read as zod's English ones.
z.config(en());

export { z };
