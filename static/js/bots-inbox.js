// The inbox's contact panel: the open conversation's bot (answering or paused, and why), with pause and resume
// through the API. The inbox announces the conversation it shows with the `inbox:conversation` event.
import { api } from "./app.js";

const box = document.getElementById("bot-panel");
const $ = (id) => document.getElementById(id);
let conversationId = null;
let request = 0;

function render(state) {
  if (!state.bot) {
    box.hidden = true;
    return;
  }
  $("bot-panel-name").textContent = state.bot.name;
  $("bot-panel-state").textContent = state.paused ? box.dataset[`paused-${state.paused_reason}`.replace(/-(\w)/g, (_, c) => c.toUpperCase())] || "" : box.dataset.answering;
  $("bot-panel-resume").hidden = !state.paused;
  $("bot-panel-pause").hidden = state.paused;
  $("bot-panel-error").hidden = true;
  box.hidden = false;
}

async function show(conversation) {
  const mine = ++request;
  conversationId = conversation ? conversation.id : null;
  box.hidden = true;
  if (!conversationId) return;
  try {
    const state = await api("GET", `/api/v1/conversations/${conversationId}/bot`);
    if (mine === request) render(state);
  } catch {
    // No bot shown: the conversation's other panels work on.
  }
}

async function act(action) {
  const id = conversationId;
  try {
    const state = await api("POST", `/api/v1/conversations/${id}/bot/${action}`);
    if (id === conversationId) render(state);
  } catch {
    $("bot-panel-error").textContent = box.dataset.error;
    $("bot-panel-error").hidden = false;
  }
}

if (box) {
  document.addEventListener("inbox:conversation", (event) => show(event.detail));
  $("bot-panel-resume").addEventListener("click", () => act("resume"));
  $("bot-panel-pause").addEventListener("click", () => act("pause"));
}
