// Bearer-token checks. Keys are compared as SHA-256 digests with timingSafeEqual, against every configured key
// without stopping at a match, so neither a key's length nor its prefix shows in the response time.
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

export function apiKeyChecker(keys: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? "");
    const given = digest(match?.[1] ?? "");
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    return ok && match !== null;
  };
}
