import { parsePhone } from "../../phone.ts";
import { codeKind } from "../code-kind.ts";

export const sms = codeKind({
  channel: "sms",
  field: "phone",
  maxLength: 64,
  parse: async (input, ctx) => {
    const { e164, masked, country } = await parsePhone(input, ctx.config);
    return { address: e164, masked, country };
  },
});
