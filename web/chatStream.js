// OpenAI chat completions with stream: true, read with fetch and a ReadableStream: server-sent events whose
// `data:` lines hold chunks (choices[0].delta.content), ending with `data: [DONE]`. safetune's server adds its
// guards' decisions as a top-level `safetune_guard` array (on the final chunk, or on a non-streamed body).

/** The data of each server-sent event in a byte stream (multi-line data joined with "\n"; comments skipped). */
export async function* serverSentData(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.search(/\r\n|\r|\n/);
      while (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
        end = buffer.search(/\r\n|\r|\n/);
      }
    }
    if (buffer.startsWith("data:")) data.push(buffer.slice(buffer.startsWith("data: ") ? 6 : 5));
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.releaseLock();
  }
}

function errorMessage(body, response) {
  return body?.error?.message ?? `${response.status} ${response.statusText}`.trim();
}

/**
 * Sends a chat request and reports as it arrives: onDelta(text) for each piece of the answer, and at the end
 * { finishReason, guards, model }. A JSON (non-streamed) answer is accepted too. Throws on an HTTP error with
 * the server's message, and on an error event in the stream.
 */
export async function streamChat({ body, headers = {}, signal, onDelta }) {
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  const type = response.headers.get("content-type") ?? "";
  if (!response.ok) {
    const parsed = type.includes("json") ? await response.json().catch(() => undefined) : undefined;
    const error = new Error(errorMessage(parsed, response));
    error.status = response.status;
    throw error;
  }
  const result = { finishReason: null, guards: [], model: null };
  const take = (chunk) => {
    if (chunk.error) throw new Error(chunk.error.message ?? JSON.stringify(chunk.error));
    if (Array.isArray(chunk.safetune_guard)) result.guards.push(...chunk.safetune_guard);
    if (chunk.model) result.model = chunk.model;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const text = choice.delta?.content ?? choice.message?.content;
    if (text) onDelta(text);
    if (choice.finish_reason) result.finishReason = choice.finish_reason;
  };
  if (!type.includes("text/event-stream")) {
    take(await response.json());
    return result;
  }
  for await (const data of serverSentData(response.body)) {
    if (data.trim() === "[DONE]") break;
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      continue; // not a chunk (a keep-alive or a proxy's note)
    }
    take(chunk);
  }
  return result;
}
