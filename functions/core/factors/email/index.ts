import { parseEmail } from "../../email.ts";
import { codeKind } from "../code-kind.ts";

export const email = codeKind({
  channel: "email",
  field: "email",
  maxLength: 320,
  parse: async (input) => parseEmail(input),
});
