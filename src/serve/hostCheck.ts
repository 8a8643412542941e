// The Host header check against DNS rebinding: a web page on evil.example can point its own name at 127.0.0.1 and
// have a visitor's browser call this server as "same origin", but the browser still sends `Host: evil.example`.
// So a request is answered only when its Host names this server: localhost, a loopback or other IP literal (a
// rebinding attack always uses a name), the address it was bound to, the machine's name when bound to every
// interface, or a name given with --allowed-host. Any port goes: port mappings (docker -p 9000:8080) change it,
// and a rebinding attack is told apart by the name, not the port.
import { isIP } from "node:net";
import { hostname as machineName } from "node:os";

/** Split "name:port", "[v6]:port", "name" into a lower-case host (brackets kept for IPv6) and an optional port. */
export function splitHost(header: string): { host: string; port?: string } {
  const text = header.trim().toLowerCase();
  const v6 = /^(\[[^\]]*\])(?::(\d*))?$/.exec(text);
  if (v6) return { host: v6[1] as string, ...(v6[2] ? { port: v6[2] } : {}) };
  const colon = text.lastIndexOf(":");
  // A bare IPv6 address without brackets has several colons: it is a host without a port.
  if (colon < 0 || text.indexOf(":") !== colon) return { host: stripDot(text) };
  const port = text.slice(colon + 1);
  return { host: stripDot(text.slice(0, colon)), ...(port ? { port } : {}) };
}

function stripDot(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function isIpLiteral(host: string): boolean {
  if (host.startsWith("[") && host.endsWith("]")) return isIP(host.slice(1, -1)) === 6;
  return isIP(host) !== 0;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", ""]);

/** The names a server bound to `boundHost` answers to without --allowed-host. */
export function defaultHosts(boundHost: string): string[] {
  const bound = boundHost.includes(":") && !boundHost.startsWith("[") ? `[${boundHost}]` : boundHost;
  const names = ["localhost", bound.toLowerCase()];
  if (WILDCARDS.has(boundHost)) names.push(machineName().toLowerCase());
  return names.filter((n) => !WILDCARDS.has(n));
}

/**
 * A predicate over Host headers. `allowed` entries: "name" (any port), "name:port" (that port only),
 * ".example.com" (that domain and every name under it), "*" (any host: the check is off).
 */
export function hostChecker(
  boundHost: string,
  allowed: readonly string[] = [],
): (header: string | undefined) => boolean {
  if (allowed.includes("*")) return () => true;
  const names = new Set(defaultHosts(boundHost));
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of allowed) {
    const text = entry.trim().toLowerCase();
    if (text.startsWith(".")) suffixes.push(stripDot(text));
    else {
      const { host, port } = splitHost(text);
      if (port) exact.add(`${host}:${port}`);
      else names.add(host);
    }
  }
  return (header) => {
    // HTTP/1.0 clients may send no Host; browsers always send one, so its absence is no rebinding.
    if (header === undefined || header.trim() === "") return true;
    const { host, port } = splitHost(header);
    if (isIpLiteral(host) || names.has(host)) return true;
    if (port && exact.has(`${host}:${port}`)) return true;
    return suffixes.some((suffix) => host.endsWith(suffix) || host === suffix.slice(1));
  };
}

/**
 * A fetch handler that answers 403 (an OpenAI-style JSON error) to requests whose Host header `allowed` refuses and
 * passes the others to `fetch`: for apps assembled elsewhere (the stand-alone dashboard of `safetune ui`).
 */
export function withHostCheck(
  fetch: (request: Request) => Response | Promise<Response>,
  allowed: (header: string | undefined) => boolean,
): (request: Request) => Response | Promise<Response> {
  return (request) => {
    const host = request.headers.get("host") ?? undefined;
    if (allowed(host)) return fetch(request);
    const message = `the Host header '${(host ?? "").replace(/[\r\n]/g, " ").slice(0, 100)}' does not name this server: requests must be addressed to the host it listens on (or localhost); name others with --allowed-host`;
    return new Response(
      JSON.stringify({
        error: { message, type: "invalid_request_error", param: null, code: "host_not_allowed" },
      }),
      { status: 403, headers: { "content-type": "application/json" } },
    );
  };
}
