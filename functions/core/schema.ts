/**
 * The validation library every Lambda loads: zod's tree-shakable `zod/mini` (tens of KiB in a
 * bundle, against 440 KiB for classic zod, most of a cold start's parse and evaluation). The same
 * schemas give the OpenAPI document (`z.toJSONSchema`), so the contract and the checks cannot drift.
 * Import it as a namespace (`import * as z`): a re-exported namespace object would keep every
 * export of zod (all its locales) in the bundle.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini carries no messages of its own ("Invalid input" everywhere); the API's field errors read as zod's English ones.
config(en());

export * from "zod/mini";
