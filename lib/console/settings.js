// An app's settings, laid out as the seeds lay them out. Saved whole with PUT and If-Match:
// `invalid_config` errors go beside their fields (errors[].path is dotted), a 412 becomes a
// clear "changed elsewhere" message with a Reload button.
import { api, enc, problemView } from "./api.js";
import { field, fmtTime, h, statusLine, uid } from "./dom.js";
import { GROUPS, TEMPLATE_FIELDS } from "./settings-fields.js";

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
function set(obj, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  let o = obj;
  for (const k of keys) o = o[k] ??= {};
  if (value === undefined) delete o[last];
  else o[last] = value;
}
const splitList = (text) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** A control for one field spec; `read()` turns its value back into the config's type. */
function control(spec, value) {
  let input;
  let read;
  switch (spec.kind) {
    case "bool":
      input = h("input", { type: "checkbox", checked: value === true });
      read = () => input.checked;
      break;
    case "enum":
      input = h(
        "select",
        {},
        spec.options.map((o) => h("option", { value: String(o), selected: o === value }, String(o))),
      );
      read = () => {
        const v = input.value;
        return typeof spec.options[0] === "number" ? Number(v) : v;
      };
      break;
    case "int":
    case "number":
      input = h("input", {
        type: "number",
        value: value ?? "",
        min: spec.min,
        max: spec.max,
        step: spec.step ?? "1",
        inputMode: spec.kind === "int" ? "numeric" : "decimal",
      });
      // An empty or unreadable number is sent as is, for the service to name it.
      read = () => (input.value.trim() === "" ? null : Number(input.value));
      break;
    case "list":
      input = h("input", { type: "text", value: (value ?? []).join(", "), autocomplete: "off" });
      read = () => splitList(input.value);
      break;
    case "map":
      input = h("input", {
        type: "text",
        value: Object.entries(value ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(", "),
        autocomplete: "off",
      });
      read = () =>
        Object.fromEntries(
          splitList(input.value).map((pair) => {
            const [k, v] = pair.split("=").map((s) => s.trim());
            return [k.toUpperCase(), v === undefined || v === "" ? null : Number(v)];
          }),
        );
      break;
    default:
      input = h("input", { type: spec.type ?? "text", value: value ?? "", autocomplete: "off" });
      read = () => {
        const v = input.value.trim();
        if (v !== "") return v;
        return spec.kind === "nullable" ? null : spec.kind === "optional" ? undefined : "";
      };
  }
  input.name = spec.path;
  input.dataset.path = spec.path;
  return { input, read };
}

export async function settingsScreen(appId) {
  const section = h(
    "section",
    { "aria-labelledby": "settings-h" },
    h("h1", { id: "settings-h" }, `Settings of ${appId}`),
  );
  const loadStatus = statusLine();
  section.append(loadStatus);
  const reply = await api("GET", `/apps/${enc(appId)}/config`);
  if (!reply.ok) {
    loadStatus.fail(problemView(reply));
    return section;
  }
  section.append(settingsForm(appId, reply.data, reply.etag));
  return section;
}

function settingsForm(appId, config, etag) {
  /** path → { read, error } for every field, and error slots for the special parts. */
  const fields = new Map();
  const slots = new Map();
  const addField = (spec, value) => {
    const { input, read } = control(spec, value);
    const f = field(spec.label, input, spec.hint);
    fields.set(spec.path, { read, error: f.error });
    slots.set(spec.path, f.error);
    return f.wrap;
  };
  const groupEl = (group) =>
    h(
      "fieldset",
      { class: "group", id: `group-${group.id}` },
      h("legend", {}, group.title),
      group.fields.map((spec) => addField(spec, get(config, spec.path))),
    );

  const form = h("form", { class: "settings", noValidate: true });
  const byId = Object.fromEntries(GROUPS.map((g) => [g.id, groupEl(g)]));

  // Sessions: "force all users to log in again" acts at once; it is not part of the saved document.
  const revokeStatus = statusLine();
  byId.sessions.append(
    h(
      "button",
      {
        type: "button",
        id: "revoke-all",
        class: "danger",
        onclick: async () => {
          if (!window.confirm("Sign every user of this app out now?")) return;
          const r = await api("POST", `/apps/${enc(appId)}/sessions/revoke-all`);
          if (r.ok)
            revokeStatus.ok("Every session issued before now stops validating: all users log in again.");
          else revokeStatus.fail(problemView(r));
        },
      },
      "Force all users to log in again",
    ),
    revokeStatus,
  );

  const senders = senderGrid(config.sms, slots);
  byId.sms.append(senders.el);
  const templates = templateEditor(config.templates, slots);

  const summary = h("div", { class: "summary", role: "alert", id: "save-summary" });
  const saveStatus = statusLine();
  saveStatus.id = "save-status";
  const save = h("button", { type: "submit", id: "save" }, "Save settings");
  let version = etag;

  form.append(
    h("p", { class: "meta" }, "Version ", h("span", { id: "config-version" }, String(config.version))),
    byId.code,
    byId.limits,
    byId.mfa,
    byId.sessions,
    byId.sms,
    byId.sinch,
    byId.email,
    templates.el,
    byId.totp,
    byId.webauthn,
    byId.smsProtection,
    h("div", { class: "actions" }, save, saveStatus, summary),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const slot of slots.values()) slot.textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    summary.replaceChildren();
    saveStatus.clear();
    const { version: _, ...doc } = structuredClone(config);
    for (const [path, { read }] of fields) set(doc, path, read());
    senders.write(doc);
    doc.templates = templates.read();
    save.disabled = true;
    const r = await api("PUT", `/apps/${enc(appId)}/config`, { body: doc, headers: { "if-match": version } });
    save.disabled = false;
    if (r.ok) {
      config = r.data;
      version = r.etag ?? `"${r.data.version}"`;
      form.querySelector("#config-version").textContent = String(r.data.version);
      saveStatus.ok(`Saved: version ${r.data.version}.`);
      return;
    }
    if (r.status === 412) {
      saveStatus.fail(
        h(
          "span",
          { class: "conflict" },
          "These settings were changed elsewhere (another tab or admin) since you opened them; your changes are not saved. Reload to see the current settings, then make your changes again. ",
          h(
            "button",
            {
              type: "button",
              id: "reload",
              onclick: () => window.dispatchEvent(new HashChangeEvent("hashchange")),
            },
            "Reload settings",
          ),
        ),
      );
      return;
    }
    saveStatus.fail(problemView(r));
    const unplaced = [];
    for (const e of r.data?.errors ?? []) {
      const slot = slotFor(slots, e.path);
      if (!slot) {
        unplaced.push(e);
        continue;
      }
      slot.textContent = slot.textContent ? `${slot.textContent}; ${e.message}` : e.message;
      const ctl = document.getElementById(slot.id.replace(/-error$/, ""));
      ctl?.setAttribute("aria-invalid", "true");
    }
    if (unplaced.length)
      summary.replaceChildren(
        h(
          "ul",
          {},
          unplaced.map((e) => h("li", {}, `${e.path}: ${e.message}`)),
        ),
      );
    const first = form.querySelector("[aria-invalid]");
    first?.focus();
  });

  const wrap = h("div", {}, form, protectionState(appId));
  return wrap;
}

/** The slot of the path, else of its nearest parent (sms.senders.1.countries.0 → sms.senders.1.countries). */
function slotFor(slots, path) {
  const keys = path.split(".");
  while (keys.length) {
    const slot = slots.get(keys.join("."));
    if (slot) return slot;
    keys.pop();
  }
  return undefined;
}

/** Seed 000's "From numbers" grid: number + countries per row, add/edit/delete, and the default number. */
function senderGrid(sms, slots) {
  const rows = [];
  const body = h("tbody");
  const gridError = h("p", { class: "field-error", id: "sms-senders-error", role: "alert" });
  slots.set("sms.senders", gridError);
  const defaultSelect = h("select", {
    id: uid("default-sender"),
    name: "sms.defaultSender",
    dataset: { path: "sms.defaultSender" },
  });
  const defaultField = field(
    "Default number",
    defaultSelect,
    "Used when no number is set for the user's country.",
  );
  slots.set("sms.defaultSender", defaultField.error);

  const refreshDefault = (chosen = defaultSelect.value) => {
    const numbers = rows.map((r) => r.number.value.trim()).filter((n) => n !== "");
    if (chosen && !numbers.includes(chosen)) numbers.push(chosen); // keep a stored one visible until changed
    defaultSelect.replaceChildren(
      h("option", { value: "" }, "(none)"),
      ...numbers.map((n) => h("option", { value: n, selected: n === chosen }, n)),
    );
  };

  const renumber = () => {
    rows.forEach((row, i) => {
      row.number.setAttribute("aria-label", `Sender ${i + 1} number`);
      row.countries.setAttribute("aria-label", `Sender ${i + 1} countries`);
      row.remove.setAttribute("aria-label", `Delete sender ${i + 1}`);
      slots.set(`sms.senders.${i}.number`, row.numberError);
      slots.set(`sms.senders.${i}.countries`, row.countriesError);
      slots.set(`sms.senders.${i}`, row.numberError);
      row.number.setAttribute("aria-describedby", row.numberError.id);
      row.countries.setAttribute("aria-describedby", row.countriesError.id);
    });
    for (const key of [...slots.keys()]) {
      const m = /^sms\.senders\.(\d+)/.exec(key);
      if (m && Number(m[1]) >= rows.length) slots.delete(key);
    }
  };

  const addRow = (sender = { number: "", countries: [] }) => {
    const id = uid("sender");
    const row = {
      number: h("input", {
        type: "tel",
        id: `${id}-number`,
        value: sender.number,
        placeholder: "+14155550100",
        class: "sender-number",
        autocomplete: "off",
      }),
      countries: h("input", {
        type: "text",
        id: `${id}-countries`,
        value: sender.countries.join(", "),
        placeholder: "US, CA",
        class: "sender-countries",
        autocomplete: "off",
      }),
      numberError: h("span", { class: "field-error", id: `${id}-number-error` }),
      countriesError: h("span", { class: "field-error", id: `${id}-countries-error` }),
    };
    row.remove = h(
      "button",
      {
        type: "button",
        class: "danger small",
        onclick: () => {
          rows.splice(rows.indexOf(row), 1);
          row.tr.remove();
          renumber();
          refreshDefault();
        },
      },
      "Delete",
    );
    row.number.addEventListener("input", () => refreshDefault());
    row.tr = h(
      "tr",
      {},
      h("td", {}, row.number, row.numberError),
      h("td", {}, row.countries, row.countriesError),
      h("td", {}, row.remove),
    );
    rows.push(row);
    body.append(row.tr);
    renumber();
    return row;
  };

  for (const s of sms.senders ?? []) addRow(s);
  refreshDefault(sms.defaultSender ?? "");

  const el = h(
    "div",
    { class: "senders" },
    h("h3", { id: "senders-h" }, "From numbers"),
    h("p", { class: "hint" }, "The number used for a user's country; countries as ISO codes (US, CA)."),
    h(
      "table",
      { "aria-labelledby": "senders-h" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "Number"),
          h("th", {}, "Countries"),
          h("th", {}, h("span", { class: "sr-only" }, "Actions")),
        ),
      ),
      body,
    ),
    gridError,
    h(
      "button",
      {
        type: "button",
        id: "add-sender",
        onclick: () => addRow().number.focus(),
      },
      "New number",
    ),
    defaultField.wrap,
  );
  return {
    el,
    write(doc) {
      doc.sms.senders = rows.map((r) => ({
        number: r.number.value.trim(),
        countries: splitList(r.countries.value).map((c) => c.toUpperCase()),
      }));
      doc.sms.defaultSender = defaultSelect.value === "" ? null : defaultSelect.value;
    },
  };
}

/** Templates per locale: one fieldset per locale with its four texts; add a locale, remove one (not en). */
function templateEditor(templates, slots) {
  const locales = new Map();
  const list = h("div", { class: "locales" });
  const add = (locale, values = {}) => {
    const inputs = {};
    const fs = h("fieldset", { class: "locale", dataset: { locale } }, h("legend", {}, `Locale ${locale}`));
    for (const [key, label, tag] of TEMPLATE_FIELDS) {
      const path = `templates.${locale}.${key}`;
      const input = h(tag, {
        value: values[key] ?? "",
        rows: tag === "textarea" ? 4 : undefined,
        dataset: { path },
      });
      input.value = values[key] ?? "";
      const f = field(`${label} (${locale})`, input);
      slots.set(path, f.error);
      inputs[key] = input;
      fs.append(f.wrap);
    }
    const localeError = h("p", { class: "field-error", id: uid("locale-error") });
    slots.set(`templates.${locale}`, localeError);
    fs.append(localeError);
    if (locale !== "en") {
      fs.append(
        h(
          "button",
          {
            type: "button",
            class: "danger small",
            onclick: () => {
              locales.delete(locale);
              fs.remove();
            },
          },
          `Remove locale ${locale}`,
        ),
      );
    }
    locales.set(locale, inputs);
    list.append(fs);
  };
  for (const [locale, values] of Object.entries(templates ?? {})) add(locale, values);

  const newLocale = field(
    "New locale",
    h("input", { type: "text", placeholder: "de", autocomplete: "off", maxLength: 35 }),
  );
  const el = h(
    "fieldset",
    { class: "group", id: "group-templates" },
    h("legend", {}, "Message templates"),
    h(
      "p",
      { class: "hint" },
      "Placeholders: {app}, {code}, {minutes}. Empty fields of another locale fall back to en.",
    ),
    list,
    h(
      "div",
      { class: "inline" },
      newLocale.wrap,
      h(
        "button",
        {
          type: "button",
          id: "add-locale",
          onclick: () => {
            const locale = newLocale.input.value.trim();
            newLocale.error.textContent = "";
            if (!locale) {
              newLocale.error.textContent = "Enter a locale such as de or pt-BR.";
              return;
            }
            if (locales.has(locale)) {
              newLocale.error.textContent = `${locale} is already there.`;
              return;
            }
            add(locale);
            newLocale.input.value = "";
          },
        },
        "Add locale",
      ),
    ),
  );
  return {
    el,
    read() {
      const out = {};
      for (const [locale, inputs] of locales) {
        out[locale] = {};
        for (const [key, input] of Object.entries(inputs))
          if (input.value !== "") out[locale][key] = input.value;
      }
      return out;
    },
  };
}

/** GET …/sms-protection: per-country conversion and breaker, with Resume for a paused country. */
function protectionState(appId) {
  const status = statusLine();
  const body = h("div");
  const load = async () => {
    const r = await api("GET", `/apps/${enc(appId)}/sms-protection`);
    if (!r.ok) return status.fail(problemView(r));
    const s = r.data;
    const blocked = Object.entries(s.blockedLast24h ?? {});
    body.replaceChildren(
      h("p", {}, `Mode: ${s.mode}. SMS sent today: ${s.appSentToday}.`),
      h(
        "p",
        {},
        "Refused in the last 24 h: ",
        blocked.length ? blocked.map(([k, v]) => `${k} ${v}`).join(", ") : "none",
      ),
      s.countries.length === 0
        ? h("p", {}, "No SMS in the breaker's window yet.")
        : h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Country", "Sent", "Verified", "Conversion", "Paused until", ""].map((t) => h("th", {}, t)),
              ),
            ),
            h(
              "tbody",
              {},
              s.countries.map((c) =>
                h(
                  "tr",
                  {},
                  h("td", {}, c.country),
                  h("td", {}, String(c.sentInWindow)),
                  h("td", {}, String(c.verifiedInWindow)),
                  h(
                    "td",
                    {},
                    c.conversion === null || c.conversion === undefined
                      ? "—"
                      : `${Math.round(c.conversion * 100)} %`,
                  ),
                  h("td", {}, c.pausedUntil ? fmtTime(c.pausedUntil) : "not paused"),
                  h(
                    "td",
                    {},
                    c.pausedUntil
                      ? h(
                          "button",
                          {
                            type: "button",
                            onclick: async () => {
                              const rr = await api("POST", `/apps/${enc(appId)}/sms-protection/resume`, {
                                body: { country: c.country },
                              });
                              if (!rr.ok) return status.fail(problemView(rr));
                              // The table first: the message then describes what is on screen.
                              await load();
                              status.ok(`SMS to ${c.country} resumed.`);
                            },
                          },
                          `Resume ${c.country}`,
                        )
                      : null,
                  ),
                ),
              ),
            ),
          ),
    );
  };
  load();
  return h(
    "section",
    { class: "group", id: "protection-state", "aria-labelledby": "protection-h" },
    h("h2", { id: "protection-h" }, "SMS protection: live state"),
    body,
    h("button", { type: "button", onclick: load }, "Refresh"),
    status,
  );
}
