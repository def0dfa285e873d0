// The audit log: filtered by user on the server; the type filter applies to the pages loaded
// (the audit route filters by user only). "Next page" follows nextCursor.
import { api, enc, problemView } from "./api.js";
import { field, fmtTime, h, statusLine } from "./dom.js";

const TYPES = [
  "challenge.sent",
  "challenge.fallback",
  "verification.approved",
  "verification.denied",
  "user.locked",
  "factor.enrolled",
  "factor.activated",
  "factor.removed",
  "recovery.regenerated",
  "mfa.disabled",
  "sessions.revoked",
  "config.updated",
  "secret.updated",
  "apikey.created",
  "apikey.revoked",
  "sms.blocked",
  "sms.flagged",
  "sms.breaker_opened",
  "sms.breaker_closed",
  "webauthn.counter_regressed",
];

export async function auditScreen(appId) {
  const section = h(
    "section",
    { "aria-labelledby": "audit-h" },
    h("h1", { id: "audit-h" }, `Audit log of ${appId}`),
  );
  const userId = field("User id", h("input", { type: "text", id: "audit-user", autocomplete: "off" }));
  const type = field(
    "Event type",
    h(
      "select",
      { id: "audit-type" },
      h("option", { value: "" }, "(all)"),
      TYPES.map((t) => h("option", { value: t }, t)),
    ),
  );
  const limit = field(
    "Per page",
    h("input", { type: "number", id: "audit-limit", min: 1, max: 100, value: 50 }),
  );
  const status = statusLine();
  const rows = h("tbody");
  const more = h("button", { type: "button", id: "audit-more", hidden: true }, "Next page");
  let cursor = null;
  let shown = 0;

  const load = async (append) => {
    status.clear();
    userId.error.textContent = "";
    const query = new URLSearchParams({ limit: limit.input.value || "50" });
    if (userId.input.value.trim()) query.set("userId", userId.input.value.trim());
    if (append && cursor) query.set("cursor", cursor);
    const r = await api("GET", `/apps/${enc(appId)}/audit?${query}`);
    if (!r.ok) {
      for (const e of r.data?.errors ?? []) {
        const slot = e.path === "userId" ? userId.error : e.path === "limit" ? limit.error : null;
        if (slot) slot.textContent = e.message;
      }
      return status.fail(problemView(r));
    }
    if (!append) {
      rows.replaceChildren();
      shown = 0;
    }
    const wanted = type.input.value;
    const events = r.data.events.filter((e) => !wanted || e.type === wanted);
    for (const e of events)
      rows.append(
        h(
          "tr",
          {},
          h("td", {}, fmtTime(e.at)),
          h("td", {}, e.type),
          h("td", {}, e.userId ?? "—"),
          h("td", {}, e.channel ?? "—"),
          h("td", {}, e.outcome ?? "—"),
          h("td", {}, e.ip ?? "—"),
        ),
      );
    shown += events.length;
    cursor = r.data.nextCursor ?? null;
    more.hidden = !cursor;
    status.ok(`${shown} event${shown === 1 ? "" : "s"} shown${cursor ? "; more on the next page" : ""}.`);
  };
  more.addEventListener("click", () => load(true));

  section.append(
    h(
      "form",
      {
        class: "inline",
        onsubmit: (event) => {
          event.preventDefault();
          load(false);
        },
      },
      userId.wrap,
      type.wrap,
      limit.wrap,
      h("button", { type: "submit" }, "Show"),
    ),
    h(
      "table",
      { id: "audit-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["When", "Type", "User", "Channel", "Outcome", "IP"].map((t) => h("th", {}, t)),
        ),
      ),
      rows,
    ),
    more,
    status,
  );
  await load(false);
  return section;
}
