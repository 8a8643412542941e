// The chat playground: talks to the server's own OpenAI API (GET /v1/models, POST /v1/chat/completions with
// streaming) and shows, under each answer, what the input and output guards decided.
import { apiKey, authHeaders, setApiKey } from "./apiKey.js";
import { streamChat } from "./chatStream.js";
import { h, heading, setChildren } from "./dom.js";

/** One guard decision as a line a reader can scan: stage, action, then the details the server gave. */
function guardItem(g) {
  const details = [
    g.judge ? `judge ${g.judge}` : null,
    g.category ? `category ${g.category}` : null,
    typeof g.score === "number" ? `score ${g.score.toFixed(2)}` : null,
    typeof g.ms === "number" ? `${Math.round(g.ms)} ms` : null,
  ].filter(Boolean);
  return h(
    "li",
    { class: ["guard", `guard-${g.action}`], "data-stage": g.stage, "data-action": g.action },
    h("span", { class: "guard-stage" }, `${g.stage} guard`),
    h("span", { class: "guard-action" }, g.action),
    details.length > 0 ? h("span", { class: "guard-detail" }, details.join(" · ")) : null,
    g.message ? h("span", { class: "guard-message" }, g.message) : null,
    g.error ? h("span", { class: "guard-error" }, `error: ${g.error}`) : null,
  );
}

function finishNote(reason) {
  if (reason === "content_filter")
    return h("p", { class: "finish filtered" }, "Stopped by a guard (finish_reason: content_filter).");
  if (reason === "length")
    return h("p", { class: "finish" }, "Cut off at the token limit (finish_reason: length).");
  return null;
}

export async function playgroundView(main) {
  const keyField = h("input", {
    id: "pg-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    value: apiKey(),
  });
  const systemField = h("textarea", { id: "pg-system", rows: "2", placeholder: "optional" });
  const maxTokens = h("input", { id: "pg-max", type: "number", min: "1", max: "4096", value: "128" });
  const temperature = h("input", {
    id: "pg-temp",
    type: "number",
    min: "0",
    max: "2",
    step: "0.1",
    value: "0",
  });
  const modelSelect = h("select", { id: "pg-model" });
  const modelStatus = h("span", { class: "muted small", id: "pg-model-status" }, "looking up models…");
  const log = h("ol", {
    class: "chat-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "conversation",
  });
  const input = h("textarea", {
    id: "pg-input",
    rows: "3",
    required: true,
    placeholder: "Ask something… (Enter sends, Shift+Enter for a new line)",
  });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const stop = h("button", { type: "button", hidden: true }, "Stop");
  const clear = h("button", { type: "button" }, "Clear conversation");
  const composer = h(
    "form",
    { class: "composer", "aria-label": "send a message" },
    h("label", { for: "pg-input", class: "visually-hidden" }, "Message"),
    input,
    h("div", { class: "composer-actions" }, send, stop, clear),
  );
  const settings = h(
    "details",
    { class: "settings-box" },
    h("summary", {}, "Connection and generation settings"),
    h(
      "div",
      { class: "form-grid" },
      h("label", { for: "pg-key" }, "API key"),
      h(
        "div",
        {},
        keyField,
        h(
          "p",
          { class: "muted small" },
          "Sent as Authorization: Bearer; kept in this browser's local storage.",
        ),
      ),
      h("label", { for: "pg-model" }, "Model"),
      h("div", {}, modelSelect, " ", modelStatus),
      h("label", { for: "pg-system" }, "System prompt"),
      systemField,
      h("label", { for: "pg-max" }, "Max new tokens"),
      maxTokens,
      h("label", { for: "pg-temp" }, "Temperature"),
      temperature,
    ),
  );
  setChildren(
    main,
    heading("Playground"),
    h(
      "p",
      { class: "muted" },
      "Chat with the served model through its OpenAI-compatible API. Each answer lists what the input and output guards decided.",
    ),
    settings,
    log,
    composer,
  );

  const headers = authHeaders;
  const loadModels = async () => {
    modelStatus.textContent = "looking up models…";
    try {
      const response = await fetch("/v1/models", { headers: headers() });
      const body = await response.json().catch(() => undefined);
      if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
      const ids = (body?.data ?? []).map((m) => m.id);
      setChildren(modelSelect, ...ids.map((id) => h("option", { value: id }, id)));
      modelStatus.textContent = ids.length === 0 ? "the server lists no model" : "";
    } catch (err) {
      modelStatus.textContent = `could not list models: ${err.message}`;
      settings.open = true;
    }
  };
  keyField.addEventListener("input", () => setApiKey(keyField.value.trim()));
  keyField.addEventListener("change", loadModels);

  const history = [];
  let controller = null;

  const addMessage = (role, text) => {
    const body = h("div", { class: "msg-text" }, text);
    const item = h(
      "li",
      { class: ["msg", `msg-${role}`] },
      h("div", { class: "msg-role" }, role === "user" ? "You" : modelSelect.value || "assistant"),
      body,
    );
    log.append(item);
    item.scrollIntoView({ block: "end" });
    return { item, body };
  };

  const submit = async () => {
    const text = input.value.trim();
    if (!text || controller) return;
    input.value = "";
    history.push({ role: "user", content: text });
    addMessage("user", text);
    const { item, body } = addMessage("assistant", "");
    item.setAttribute("aria-busy", "true");
    body.classList.add("streaming");
    controller = new AbortController();
    send.disabled = true;
    stop.hidden = false;
    let answer = "";
    try {
      const messages = systemField.value.trim()
        ? [{ role: "system", content: systemField.value.trim() }, ...history]
        : [...history];
      const result = await streamChat({
        body: {
          model: modelSelect.value || undefined,
          messages,
          max_tokens: Number(maxTokens.value) || undefined,
          temperature: Number(temperature.value),
        },
        headers: headers(),
        signal: controller.signal,
        onDelta: (piece) => {
          answer += piece;
          body.textContent = answer;
        },
      });
      history.push({ role: "assistant", content: answer });
      if (answer === "") body.textContent = "(empty answer)";
      item.dataset.finish = result.finishReason ?? "";
      item.append(
        ...[finishNote(result.finishReason)].filter(Boolean),
        result.guards.length > 0
          ? h("ul", { class: "guards", "aria-label": "guard decisions" }, result.guards.map(guardItem))
          : h("p", { class: "muted small guards-none" }, "No guard decisions reported."),
      );
    } catch (err) {
      const aborted = err.name === "AbortError";
      if (answer) history.push({ role: "assistant", content: answer });
      else history.pop(); // an unanswered question is not part of the conversation
      const hint = err.status === 401 ? " Enter the server's API key in the settings above." : "";
      item.append(
        h(
          "p",
          { class: aborted ? "finish" : "error" },
          aborted ? "Stopped." : `Request failed: ${err.message}.${hint}`,
        ),
      );
      if (err.status === 401) settings.open = true;
    } finally {
      body.classList.remove("streaming");
      item.removeAttribute("aria-busy");
      controller = null;
      send.disabled = false;
      stop.hidden = true;
      input.focus();
    }
  };

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  stop.addEventListener("click", () => controller?.abort());
  clear.addEventListener("click", () => {
    controller?.abort();
    history.length = 0;
    setChildren(log);
  });
  await loadModels();
}
