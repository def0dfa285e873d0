// Provider secrets: write-only. The list shows set / not set and when; a value is typed into a
// textarea, sent once, and cleared. Test sends a real message with an app's saved settings.
import { api, enc, problemView } from "./api.js";
import { field, fmtTime, h, statusLine } from "./dom.js";

const EXAMPLES = {
  twilio: '{ "accountSid": "AC…", "authToken": "…", "subaccounts": [] }',
  "sinch-verification-api": '{ "authenticationId": "…", "secret": "…" }',
};

export async function secretsScreen() {
  const section = h(
    "section",
    { "aria-labelledby": "secrets-h" },
    h("h1", { id: "secrets-h" }, "Provider secrets"),
  );
  const listStatus = statusLine();
  const table = h("div", { id: "secrets-list" });
  const load = async () => {
    const r = await api("GET", "/secrets");
    if (!r.ok) return listStatus.fail(problemView(r));
    table.replaceChildren(
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "State"), h("th", {}, "Updated"))),
        h(
          "tbody",
          {},
          r.data.secrets.map((s) =>
            h(
              "tr",
              { dataset: { secret: s.name } },
              h("td", {}, h("code", {}, s.name)),
              h(
                "td",
                {},
                h("span", { class: s.set ? "badge set" : "badge unset" }, s.set ? "set" : "not set"),
              ),
              h("td", {}, fmtTime(s.updatedAt)),
            ),
          ),
        ),
      ),
    );
  };

  // Set a secret: the name is free text (an app's config may refer to any name), JSON value.
  const name = field(
    "Secret name",
    h("input", {
      type: "text",
      id: "secret-name",
      value: "twilio",
      list: "secret-names",
      autocomplete: "off",
    }),
  );
  const value = field(
    "Value (JSON, write-only)",
    h("textarea", {
      id: "secret-value",
      rows: 6,
      spellcheck: false,
      autocomplete: "off",
      placeholder: EXAMPLES.twilio,
    }),
    "Sent once to the service, then cleared here; it is never shown again.",
  );
  name.input.addEventListener("input", () => {
    value.input.placeholder = EXAMPLES[name.input.value.trim()] ?? "{ … }";
  });
  const setStatus = statusLine();
  setStatus.id = "secret-status";
  const setForm = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        setStatus.clear();
        value.error.textContent = "";
        name.error.textContent = "";
        let body;
        try {
          body = JSON.parse(value.input.value);
        } catch (error) {
          value.error.textContent = `Not JSON: ${error.message}`;
          return;
        }
        const secretName = name.input.value.trim();
        if (!secretName) {
          name.error.textContent = "Enter the secret's name.";
          return;
        }
        const r = await api("PUT", `/secrets/${enc(secretName)}`, { body });
        if (!r.ok) {
          const errs = r.data?.errors ?? [];
          if (errs.length) value.error.textContent = errs.map((e) => `${e.path}: ${e.message}`).join("; ");
          return setStatus.fail(problemView(r));
        }
        value.input.value = "";
        // The list first: the message then describes what is on screen.
        await load();
        setStatus.ok(`Secret ${secretName} saved.`);
      },
    },
    h("h2", {}, "Set a secret"),
    h(
      "datalist",
      { id: "secret-names" },
      Object.keys(EXAMPLES).map((n) => h("option", { value: n })),
    ),
    name.wrap,
    value.wrap,
    h("button", { type: "submit", id: "save-secret" }, "Save secret"),
    setStatus,
  );

  // Test: a message through an app's saved settings and secrets; the provider's answer as is.
  const appSelect = field("App", h("select", { id: "test-app" }));
  const channel = field(
    "Channel",
    h(
      "select",
      { id: "test-channel" },
      h("option", { value: "sms" }, "SMS"),
      h("option", { value: "email" }, "Email"),
    ),
  );
  const to = field(
    "Send to",
    h("input", {
      type: "text",
      id: "test-to",
      autocomplete: "off",
      placeholder: "+14155550123 or name@example.com",
    }),
  );
  const testStatus = statusLine();
  testStatus.id = "test-status";
  const testForm = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        testStatus.clear();
        to.error.textContent = "";
        const r = await api("POST", `/apps/${enc(appSelect.input.value)}/test-message`, {
          body: { channel: channel.input.value, to: to.input.value.trim() },
        });
        if (!r.ok) {
          const errs = r.data?.errors ?? [];
          if (errs.length) to.error.textContent = errs.map((e) => e.message).join("; ");
          return testStatus.fail(problemView(r));
        }
        testStatus.ok(`Delivered by ${r.data.provider}: message id ${r.data.providerMessageId}`);
      },
    },
    h("h2", {}, "Test a provider"),
    h("p", { class: "hint" }, "Sends a test message with the app's saved settings and the secrets above."),
    appSelect.wrap,
    channel.wrap,
    to.wrap,
    h("button", { type: "submit", id: "test-send" }, "Test"),
    testStatus,
  );
  const apps = await api("GET", "/apps");
  if (apps.ok) {
    const current = new URLSearchParams(location.hash.split("?")[1] ?? "").get("app");
    appSelect.input.replaceChildren(
      ...apps.data.apps.map((a) =>
        h("option", { value: a.appId, selected: a.appId === current }, `${a.name} (${a.appId})`),
      ),
    );
  } else testStatus.fail(problemView(apps));

  section.append(table, listStatus, setForm, testForm);
  await load();
  return section;
}
