// JSON over fetch, same-origin only (the server refuses cross-site writes).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `Request failed (${status})`);
    this.status = status;
    this.code = body?.code;
  }
}

/** `method path` with an optional JSON body (a Blob, such as a picked file, goes as it is,
 * typed as the file is); resolves to the JSON answer (null when empty).
 * With `signal`, an aborted request rejects with the abort (not an ApiError); with `keepalive`,
 * the request goes on when the page closes (its body at most 64 kB). */
export async function api(method, path, body, { signal, keepalive = false } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal, keepalive };
  // The user this page is for: the server refuses a request whose session is someone else's
  // (signed in on this browser since), rather than doing it as them (the outbox, above all).
  const pageUser = globalThis.document?.body?.dataset.userId;
  if (pageUser) init.headers["Tidings-User"] = pageUser;
  if (typeof Blob === "function" && body instanceof Blob) {
    init.headers["Content-Type"] = body.type || "application/octet-stream";
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, { detail: "Cannot reach the server. Check your connection." });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}
