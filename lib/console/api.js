// Every call goes to this page's own origin: the server in front of the console adds the
// admin credentials (the token locally, SigV4 against a stage), so the page never holds one.
import { h } from "./dom.js";

/** { ok, status, data, etag } — never throws for an HTTP error; a network failure becomes status 0. */
export async function api(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["content-type"] ??= "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/console/api/admin${path}`, init);
  } catch (error) {
    return { ok: false, status: 0, data: { title: "Network error", detail: String(error) }, etag: null };
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { title: `HTTP ${res.status}`, detail: text.slice(0, 200) };
  }
  return { ok: res.ok, status: res.status, data, etag: res.headers.get("etag") };
}

/** A problem+json answer as text: title, code and detail, and its field errors if any. */
export function problemView(reply) {
  const p = reply.data ?? {};
  const head = `${p.title ?? "Error"} (${reply.status}${p.code ? `, ${p.code}` : ""})${p.detail ? `: ${p.detail}` : ""}`;
  const extra = [];
  if (p.reason) extra.push(`reason: ${p.reason}`);
  if (p.providerCode !== undefined) extra.push(`provider code: ${p.providerCode}`);
  if (p.providerMessage) extra.push(`provider: ${p.providerMessage}`);
  if (p.retryAfterSeconds !== undefined) extra.push(`retry after ${p.retryAfterSeconds} s`);
  const errors = Array.isArray(p.errors) ? p.errors : [];
  return h(
    "span",
    { class: "problem" },
    head,
    extra.length ? ` — ${extra.join("; ")}` : "",
    errors.length
      ? h(
          "ul",
          {},
          errors.map((e) => h("li", {}, `${e.path}: ${e.message}`)),
        )
      : null,
  );
}

export const enc = encodeURIComponent;
