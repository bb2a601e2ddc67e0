// A bot's page: its scenarios (list, add, edit, delete, move up and down) and its test chat, through the bots API.
import { api } from "./app.js";

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("bot-data").textContent);
const strings = JSON.parse($("bot-strings").textContent);
const botUrl = `/api/v1/bots/${data.bot_id}`;
let scenarios = data.scenarios;

function t(key, params = {}) {
  const text = strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(params[name] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

function errorText(error) {
  const errors = error?.body?.errors;
  if (errors) return Object.values(errors).flat().map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join(" ");
  return error?.body?.detail || t("error");
}

// --- scenarios ----------------------------------------------------------------------------------------------

function triggerText(scenario) {
  if (scenario.trigger === "regex") return scenario.pattern;
  const values = scenario.values.join(", ");
  return scenario.trigger === "keyword" ? `${values} · ${t(`match_${scenario.match}`)}` : values;
}

function replyText(reply) {
  if (reply.type === "text") return reply.text;
  if (reply.type === "interactive") return reply.interactive?.body?.text ?? "";
  if (reply.type === "template") return `${t("reply_template")}: ${reply.template?.name ?? ""}`;
  return t("reply_other", { type: reply.type });
}

function renderScenarios() {
  const list = $("scenario-list");
  if (!scenarios.length) {
    list.replaceChildren(el("li", { class: "muted scenario-empty", text: t("no_scenarios") }));
    return;
  }
  list.replaceChildren(
    ...scenarios.map((scenario, index) =>
      el(
        "li",
        { class: `scenario${scenario.is_active ? "" : " is-off"}`, dataset: { id: scenario.id } },
        el(
          "div",
          { class: "scenario-main" },
          el("span", { class: "badge", text: strings.triggers[scenario.trigger] ?? scenario.trigger }),
          scenario.is_active ? null : el("span", { class: "badge badge-warning", text: t("inactive") }),
          scenario.name ? el("strong", { dir: "auto", text: scenario.name }) : null,
          el("span", { class: "scenario-trigger", dir: scenario.trigger === "regex" ? "ltr" : "auto", text: triggerText(scenario) }),
          el("span", { class: "scenario-reply muted", dir: "auto", text: replyText(scenario.reply) }),
        ),
        el(
          "div",
          { class: "scenario-actions" },
          el("button", { type: "button", class: "button button-small", disabled: index === 0, "aria-label": t("move_up"), title: t("move_up"), onclick: () => move(index, -1), text: "↑" }),
          el("button", { type: "button", class: "button button-small", disabled: index === scenarios.length - 1, "aria-label": t("move_down"), title: t("move_down"), onclick: () => move(index, 1), text: "↓" }),
          el("button", { type: "button", class: "button button-small", onclick: () => openDialog(scenario), text: t("edit") }),
          el("button", { type: "button", class: "button button-small button-danger", onclick: () => remove(scenario), text: t("delete") }),
        ),
      ),
    ),
  );
}

function listError(error) {
  const box = $("scenario-list-error");
  box.textContent = error ? errorText(error) : "";
  box.hidden = !error;
}

async function move(index, step) {
  const ids = scenarios.map((scenario) => scenario.id);
  [ids[index], ids[index + step]] = [ids[index + step], ids[index]];
  try {
    scenarios = await api("POST", `${botUrl}/scenarios/reorder`, { ids });
    listError(null);
    renderScenarios();
  } catch (error) {
    listError(error);
  }
}

async function remove(scenario) {
  if (!window.confirm(t("confirm_delete"))) return;
  try {
    await api("DELETE", `${botUrl}/scenarios/${scenario.id}`);
    scenarios = scenarios.filter((other) => other.id !== scenario.id);
    listError(null);
    renderScenarios();
  } catch (error) {
    listError(error);
  }
}

// The dialog: a scenario's fields, its reply built from the kind chosen.
const dialog = $("scenario-dialog");
let editing = null;

function replyKind(reply) {
  if (reply.type === "text") return "text";
  if (reply.type === "template") return "template";
  if (reply.type === "interactive" && reply.interactive?.type === "button") return "buttons";
  return "json";
}

function showFields() {
  const trigger = $("scenario-trigger").value;
  for (const node of dialog.querySelectorAll("[data-for]")) node.hidden = !node.dataset.for.split(" ").includes(trigger);
  const label = dialog.querySelector("label[for=scenario-values]");
  label.textContent = trigger === "keyword" ? label.dataset.labelKeyword : label.dataset.labelIds;
  const kind = $("scenario-reply-kind").value;
  for (const node of dialog.querySelectorAll("[data-kind]")) node.hidden = !node.dataset.kind.split(" ").includes(kind);
}

function openDialog(scenario) {
  editing = scenario;
  const reply = scenario?.reply ?? { type: "text", text: "" };
  $("scenario-name").value = scenario?.name ?? "";
  $("scenario-trigger").value = scenario?.trigger ?? "keyword";
  $("scenario-match").value = scenario?.match ?? "exact";
  $("scenario-values").value = (scenario?.values ?? []).join(", ");
  $("scenario-pattern").value = scenario?.pattern ?? "";
  $("scenario-active").checked = scenario?.is_active ?? true;
  const kind = replyKind(reply);
  $("scenario-reply-kind").value = kind;
  $("scenario-text").value = kind === "text" ? reply.text : kind === "buttons" ? reply.interactive.body.text : "";
  $("scenario-buttons").value = kind === "buttons" ? reply.interactive.action.buttons.map((button) => `${button.reply.id} | ${button.reply.title}`).join("\n") : "";
  $("scenario-template-name").value = kind === "template" ? reply.template.name : "";
  $("scenario-template-language").value = kind === "template" ? reply.template.language : "";
  $("scenario-json").value = kind === "json" ? JSON.stringify(reply, null, 2) : "";
  clearErrors();
  showFields();
  dialog.showModal();
}

function clearErrors() {
  for (const node of dialog.querySelectorAll(".field .error")) node.hidden = true;
  $("scenario-error").hidden = true;
}

function buildReply() {
  const kind = $("scenario-reply-kind").value;
  const text = $("scenario-text").value;
  if (kind === "text") return { type: "text", text };
  if (kind === "template") return { type: "template", template: { name: $("scenario-template-name").value.trim(), language: $("scenario-template-language").value.trim() } };
  if (kind === "buttons") {
    const buttons = $("scenario-buttons").value.split("\n").map((line) => line.split("|").map((part) => part.trim())).filter(([id]) => id);
    return { type: "interactive", interactive: { type: "button", body: { text }, action: { buttons: buttons.map(([id, title]) => ({ type: "reply", reply: { id, title: title || id } })) } } };
  }
  return JSON.parse($("scenario-json").value);
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  let reply;
  try {
    reply = buildReply();
  } catch {
    $("scenario-error").textContent = t("invalid_json");
    $("scenario-error").hidden = false;
    return;
  }
  const trigger = $("scenario-trigger").value;
  const body = { name: $("scenario-name").value.trim(), trigger, reply, is_active: $("scenario-active").checked };
  if (trigger === "regex") body.pattern = $("scenario-pattern").value;
  else body.values = $("scenario-values").value.split(/[,،]/).map((value) => value.trim()).filter(Boolean);
  if (trigger === "keyword") body.match = $("scenario-match").value;
  try {
    const saved = editing ? await api("PATCH", `${botUrl}/scenarios/${editing.id}`, body) : await api("POST", `${botUrl}/scenarios`, body);
    scenarios = editing ? scenarios.map((scenario) => (scenario.id === saved.id ? saved : scenario)) : [...scenarios, saved];
    dialog.close();
    renderScenarios();
  } catch (error) {
    const errors = error?.body?.errors ?? {};
    let placed = false;
    for (const [name, messages] of Object.entries(errors)) {
      const box = dialog.querySelector(`[data-field="${name}"] .error`);
      if (!box) continue;
      box.textContent = [messages].flat().map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join(" ");
      box.hidden = false;
      placed = true;
    }
    if (!placed) {
      $("scenario-error").textContent = errorText(error);
      $("scenario-error").hidden = false;
    }
  }
}

$("scenario-add").addEventListener("click", () => openDialog(null));
$("scenario-trigger").addEventListener("change", showFields);
$("scenario-reply-kind").addEventListener("change", showFields);
$("scenario-form").addEventListener("submit", save);
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
renderScenarios();

// --- the test chat ------------------------------------------------------------------------------------------

function chatLine(who, text, { meta = null, sources = [], outcome = null } = {}) {
  const item = el("li", { class: `chat-line chat-${who}` }, el("div", { class: "chat-bubble", dir: "auto", text }));
  if (outcome) item.append(el("span", { class: `badge chat-outcome outcome-${outcome}`, text: t(`outcome_${outcome}`) }));
  if (meta) item.append(el("span", { class: "muted small chat-meta", text: meta }));
  if (sources.length) {
    item.append(
      el(
        "details",
        { class: "chat-sources" },
        el("summary", { text: `${t("sources")} (${sources.length})` }),
        el(
          "ol",
          {},
          sources.map((source) =>
            el("li", {}, el("strong", { dir: "auto", text: source.document }), " ", el("span", { class: "muted small", text: t("score", { score: source.score }) }), el("p", { dir: "auto", class: "chat-chunk", text: source.chunk })),
          ),
        ),
      ),
    );
  }
  $("chat-log").append(item);
  item.scrollIntoView({ block: "nearest" });
  return item;
}

$("chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const message = input.value.trim();
  if (!message) return;
  input.value = "";
  chatLine("you", message);
  const waiting = chatLine("bot", t("thinking"));
  waiting.classList.add("is-waiting");
  $("chat-send").disabled = true;
  try {
    const answer = await api("POST", `${botUrl}/test`, { message });
    waiting.remove();
    const meta = answer.model_used ? t("tokens", { model: answer.model_used, tokens: answer.tokens_used }) : null;
    chatLine("bot", answer.response || t("silent"), { meta, sources: answer.sources, outcome: answer.outcome });
  } catch (error) {
    waiting.remove();
    chatLine("error", errorText(error));
  } finally {
    $("chat-send").disabled = false;
    input.focus();
  }
});

$("chat-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("chat-form").requestSubmit();
  }
});
