// Apps and API keys. A new key is shown once (the service keeps only its hash) with a Copy button.
import { api, enc, problemView } from "./api.js";
import { field, fmtTime, h, statusLine } from "./dom.js";

/** The one-time key box: the key, a Copy button and a warning that it will not be shown again. */
function newKey(title, reply) {
  const copied = statusLine();
  const key = h("code", { class: "secret-once" }, reply.apiKey);
  return h(
    "div",
    { class: "once", role: "region", "aria-label": title },
    h("h3", {}, title),
    h("p", {}, "Copy it now: it is shown only this once."),
    h("p", {}, "API key: ", key),
    h("p", {}, "Key id: ", h("code", { class: "key-id" }, reply.keyId)),
    h(
      "button",
      {
        type: "button",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(reply.apiKey);
            copied.ok("Copied.");
          } catch {
            copied.fail("The browser refused the clipboard: select the key and copy it by hand.");
          }
        },
      },
      "Copy",
    ),
    copied,
  );
}

export async function appsScreen() {
  const section = h("section", { "aria-labelledby": "apps-h" }, h("h1", { id: "apps-h" }, "Apps"));
  const listStatus = statusLine();
  const tableSlot = h("div");
  section.append(tableSlot, listStatus);

  const load = async () => {
    const reply = await api("GET", "/apps");
    if (!reply.ok) return listStatus.fail(problemView(reply));
    const apps = reply.data.apps;
    tableSlot.replaceChildren(
      apps.length === 0
        ? h("p", {}, "No apps yet.")
        : h(
            "table",
            { class: "apps" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", {}, "Name"),
                h("th", {}, "App id"),
                h("th", {}, "Created"),
                h("th", {}, "Open"),
              ),
            ),
            h(
              "tbody",
              {},
              apps.map((app) => {
                const base = `#/apps/${enc(app.appId)}`;
                return h(
                  "tr",
                  {},
                  h("td", {}, app.name),
                  h("td", {}, h("code", {}, app.appId)),
                  h("td", {}, fmtTime(app.createdAt)),
                  h(
                    "td",
                    { class: "links" },
                    h("a", { href: `${base}/settings` }, "Settings"),
                    h("a", { href: base }, "API keys"),
                    h("a", { href: `${base}/users` }, "Users"),
                    h("a", { href: `${base}/audit` }, "Audit"),
                    h("a", { href: `${base}/doctor` }, "Doctor"),
                  ),
                );
              }),
            ),
          ),
    );
  };

  const name = field(
    "App name",
    h("input", { type: "text", required: true, maxLength: 100, autocomplete: "off" }),
  );
  const createStatus = statusLine();
  const created = h("div");
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        name.error.textContent = "";
        createStatus.clear();
        const reply = await api("POST", "/apps", { body: { name: name.input.value } });
        if (!reply.ok) {
          const errs = reply.data?.errors ?? [];
          if (errs.length) name.error.textContent = errs.map((e) => e.message).join("; ");
          return createStatus.fail(problemView(reply));
        }
        name.input.value = "";
        createStatus.ok(`App created: ${reply.data.appId}`);
        created.replaceChildren(
          newKey("The new app's API key", reply.data),
          h("p", {}, h("a", { href: `#/apps/${enc(reply.data.appId)}/settings` }, "Open its settings")),
        );
        await load();
      },
    },
    h("h2", {}, "Create an app"),
    name.wrap,
    h("button", { type: "submit" }, "Create app"),
    createStatus,
  );
  section.append(form, created);
  await load();
  return section;
}

/** One app's API keys: create one (shown once), revoke one by its id (there is no list of keys). */
export async function appScreen(appId) {
  const section = h(
    "section",
    { "aria-labelledby": "keys-h" },
    h("h1", { id: "keys-h" }, `API keys of ${appId}`),
  );
  const createStatus = statusLine();
  const created = h("div");
  section.append(
    h(
      "p",
      {},
      "Older keys keep working after a new one is created: revoke them once the client app uses the new one.",
    ),
    h(
      "button",
      {
        type: "button",
        id: "create-key",
        onclick: async () => {
          createStatus.clear();
          const reply = await api("POST", `/apps/${enc(appId)}/api-keys`);
          if (!reply.ok) return createStatus.fail(problemView(reply));
          created.replaceChildren(newKey("The new API key", reply.data));
        },
      },
      "Create API key",
    ),
    createStatus,
    created,
  );
  const keyId = field("Key id to revoke", h("input", { type: "text", required: true, autocomplete: "off" }));
  const revokeStatus = statusLine();
  section.append(
    h(
      "form",
      {
        class: "inline",
        onsubmit: async (event) => {
          event.preventDefault();
          revokeStatus.clear();
          const id = keyId.input.value.trim();
          if (!window.confirm(`Revoke key ${id}? Clients using it are refused from now on.`)) return;
          const reply = await api("DELETE", `/apps/${enc(appId)}/api-keys/${enc(id)}`);
          if (!reply.ok) return revokeStatus.fail(problemView(reply));
          keyId.input.value = "";
          revokeStatus.ok(`Key ${id} revoked: it is refused from now on.`);
        },
      },
      h("h2", {}, "Revoke an API key"),
      keyId.wrap,
      h("button", { type: "submit", class: "danger" }, "Revoke key"),
      revokeStatus,
    ),
  );
  return section;
}
