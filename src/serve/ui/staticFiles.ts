// The dashboard's files in web/: found relative to this module, so the same code serves them from src/ (tsx) and
// from dist/ (an installed package ships web/ beside dist/). Only plain file names directly in web/ are served.
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** src/serve/ui/ and dist/serve/ui/ are both three folders below the package root. */
export const WEB_DIR = fileURLToPath(new URL("../../../web/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/**
 * Only the server's own files run and load; charts are inline SVG (style attributes need 'unsafe-inline' for
 * styles, never for scripts), and the playground talks to this origin only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** A file of web/ by name ("app.js"), or undefined when there is no such plain file. */
export function webFile(name: string): Response | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || name.includes("..")) return undefined;
  const type = CONTENT_TYPES[extname(name).toLowerCase()];
  const path = join(WEB_DIR, name);
  if (!type || !existsSync(path) || !statSync(path).isFile()) return undefined;
  return new Response(readFileSync(path), {
    // no-cache: the browser revalidates, so an upgraded safetune never runs yesterday's script.
    headers: { "content-type": type, "cache-control": "no-cache", ...SECURITY_HEADERS },
  });
}

/** The single-page app's shell, answered for /ui and every client-side route below it. */
export function appShell(): Response {
  const shell = webFile("index.html");
  if (!shell) return new Response(`web/index.html not found in ${WEB_DIR}`, { status: 500 });
  return shell;
}
