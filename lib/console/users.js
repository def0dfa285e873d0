// A user of an app, looked up by id: factors, lock, attempts, sessions; Unlock, and sign
// every user out (the admin API has no per-user revoke: a client app revokes one user's sessions).
import { api, enc, problemView } from "./api.js";
import { field, fmtTime, h, statusLine } from "./dom.js";

export async function usersScreen(appId) {
  const section = h(
    "section",
    { "aria-labelledby": "users-h" },
    h("h1", { id: "users-h" }, `Users of ${appId}`),
  );
  const userId = field(
    "User id",
    h("input", { type: "text", id: "user-id", required: true, autocomplete: "off" }),
  );
  const status = statusLine();
  status.id = "user-status";
  const details = h("div", { id: "user-details" });

  const show = async (id) => {
    status.clear();
    userId.error.textContent = "";
    const r = await api("GET", `/apps/${enc(appId)}/users/${enc(id)}`);
    if (!r.ok) {
      details.replaceChildren();
      const errs = r.data?.errors ?? [];
      if (errs.length) userId.error.textContent = errs.map((e) => e.message).join("; ");
      return status.fail(problemView(r));
    }
    const u = r.data;
    const locked = u.lockedUntil && new Date(u.lockedUntil) > new Date();
    const actionStatus = statusLine();
    details.replaceChildren(
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "User"),
        h("dd", {}, h("code", {}, u.userId)),
        h("dt", {}, "Two-factor authentication"),
        h("dd", {}, u.enabled ? "on" : "off"),
        h("dt", {}, "Locked"),
        h("dd", { id: "user-lock" }, locked ? `until ${fmtTime(u.lockedUntil)}` : "no"),
        h("dt", {}, "Failed attempts"),
        h("dd", {}, String(u.failedAttempts)),
        h("dt", {}, "Recovery codes left"),
        h("dd", {}, String(u.recoveryCodesRemaining)),
        h("dt", {}, "Active sessions"),
        h("dd", {}, String(u.activeSessions)),
      ),
      h("h2", {}, "Factors"),
      u.factors.length === 0
        ? h("p", {}, "No factors.")
        : h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Type", "Status", "Destination", "Created", "Id"].map((t) => h("th", {}, t)),
              ),
            ),
            h(
              "tbody",
              {},
              u.factors.map((f) =>
                h(
                  "tr",
                  {},
                  h("td", {}, f.type),
                  h("td", {}, f.status),
                  h("td", {}, f.destination ?? f.label ?? "—"),
                  h("td", {}, fmtTime(f.createdAt)),
                  h("td", {}, h("code", {}, f.factorId)),
                ),
              ),
            ),
          ),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            id: "unlock",
            onclick: async () => {
              const rr = await api("POST", `/apps/${enc(appId)}/users/${enc(u.userId)}/unlock`);
              if (!rr.ok) return actionStatus.fail(problemView(rr));
              await show(u.userId);
              status.ok(`${u.userId} unlocked; failed attempts reset.`);
            },
          },
          "Unlock",
        ),
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: async () => {
              if (!window.confirm("Sign every user of this app out now (this user included)?")) return;
              const rr = await api("POST", `/apps/${enc(appId)}/sessions/revoke-all`);
              if (!rr.ok) return actionStatus.fail(problemView(rr));
              actionStatus.ok("Every session issued before now stops validating.");
            },
          },
          "Revoke sessions (all users of the app)",
        ),
        actionStatus,
      ),
    );
  };

  section.append(
    h(
      "form",
      {
        class: "inline",
        onsubmit: (event) => {
          event.preventDefault();
          show(userId.input.value.trim());
        },
      },
      userId.wrap,
      h("button", { type: "submit" }, "Look up"),
      status,
    ),
    details,
  );
  return section;
}
