// The server's API key, when it asks for one: kept in this browser's local storage and sent as a bearer token
// on the dashboard's own requests (/api, /v1). Never put into an address, so it stays out of history and logs.

const STORAGE_KEY = "safetune.apiKey";

export function apiKey() {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? "";
  } catch {
    return ""; // storage disabled
  }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(STORAGE_KEY, key);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {}
}

/** The Authorization header for the stored key (none without one). */
export function authHeaders() {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}
