/**
 * The admin console's files (`lib/console/`), as both of its servers send them: the local stack
 * at `/console/` and `npm run console` against a deployed stage. One strict Content-Security-Policy:
 * scripts and styles from the console's own files only, no inline code, no framing, and fetches
 * to its own origin only (the admin API behind it is reached through `/console/api/`).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

// `new URL` rather than `import.meta.dirname`, which Node 20 has only from 20.11 (engines says >= 20).
const CONSOLE_DIR = fileURLToPath(new URL("./console/", import.meta.url));

export interface StaticFile {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * `/console/` → index.html, `/console/<name>.<js|css|svg|html>` → that file; anything else
 * (another folder, `..`, an unknown type) is undefined, for the caller's 404.
 */
export async function consoleAsset(path: string): Promise<StaticFile | undefined> {
  const name = path === "/console/" ? "index.html" : path.slice("/console/".length);
  const match = /^[a-z0-9-]+\.(html|js|css|svg)$/.exec(name);
  const type = match?.[1] ? TYPES[match[1]] : undefined;
  if (!type) return undefined;
  let body: string;
  try {
    body = await readFile(`${CONSOLE_DIR}${name}`, "utf8");
  } catch {
    return undefined;
  }
  return { statusCode: 200, headers: pageHeaders(type), body };
}

/** The headers of every page file the local stack and the console server send: the strict CSP, never cached. */
export const pageHeaders = (contentType: string): Record<string, string> => ({
  "content-type": contentType,
  "cache-control": "no-store",
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
});
