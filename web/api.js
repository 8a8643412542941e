// The dashboard's calls to its own server: JSON with errors as thrown messages, and the URLs of run pages.
import { authHeaders } from "./apiKey.js";

export class ApiFailure extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET a JSON document; a non-2xx answer throws its { error: { message } } (or its status line). */
export async function getJson(url, init = {}) {
  const response = await fetch(url, {
    ...init,
    headers: { accept: "application/json", ...authHeaders(), ...init.headers },
  });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = body?.error?.message ?? `${response.status} ${response.statusText}`;
    throw new ApiFailure(response.status, message);
  }
  return body;
}

/** Run ids contain "/" (pipeline stages): one encoded path segment each. */
export const runApiUrl = (id, rest = "") => `/api/runs/${encodeURIComponent(id)}${rest}`;
export const runPageUrl = (id) => `/ui/runs/${encodeURIComponent(id)}`;
export const comparePageUrl = (ids) =>
  `/ui/compare?${ids.map((id) => `run=${encodeURIComponent(id)}`).join("&")}`;
export const compareApiUrl = (ids, rest = "") =>
  `/api/compare${rest}?${ids.map((id) => `run=${encodeURIComponent(id)}`).join("&")}`;
export const trainRunApiUrl = (id, rest = "") => `/api/train-runs/${encodeURIComponent(id)}${rest}`;
export const trainRunPageUrl = (id) => `/ui/train/${encodeURIComponent(id)}`;
