// The doctor report: what stands between this app and its first delivered code, each with its fix.
import { api, enc, problemView } from "./api.js";
import { h, statusLine } from "./dom.js";

export async function doctorScreen(appId) {
  const section = h(
    "section",
    { "aria-labelledby": "doctor-h" },
    h("h1", { id: "doctor-h" }, `Doctor: ${appId}`),
  );
  const status = statusLine();
  const report = h("div", { id: "doctor-report" });
  const load = async () => {
    status.clear();
    const r = await api("GET", `/apps/${enc(appId)}/doctor`);
    if (!r.ok) return status.fail(problemView(r));
    report.replaceChildren(
      h(
        "p",
        { class: r.data.ready ? "badge set" : "badge unset", id: "doctor-ready" },
        r.data.ready ? "Ready to deliver codes" : "Not ready",
      ),
      h(
        "ul",
        { class: "checks" },
        r.data.checks.map((c) =>
          h(
            "li",
            { class: c.ok ? "ok" : "fail" },
            h("strong", {}, `${c.ok ? "✓" : "✗"} ${c.id}`),
            h("span", {}, ` — ${c.detail}`),
            c.fix ? h("p", { class: "fix" }, "Fix: ", c.fix) : null,
          ),
        ),
      ),
    );
  };
  section.append(report, h("button", { type: "button", onclick: load }, "Run again"), status);
  await load();
  return section;
}
