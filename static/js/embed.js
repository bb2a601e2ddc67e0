// An inbox embed, live (messaging/templates/messaging/embed.html): its socket (/ws/embed/?token=, live.js) brings the
// messages and status changes of the embed's conversations. The open conversation's new messages are added to the
// thread and their ticks follow; the list is read again as the server renders it. A reply goes over the socket when
// it is open (else the form posts). When the embed is revoked or expires, the socket is closed for good: the page
// says so and stops.
import { LiveSocket } from "./live.js";

const body = document.body;
const labels = JSON.parse(document.getElementById("embed-labels").textContent);
const list = document.getElementById("embed-list");
const thread = document.getElementById("embed-messages");
const composer = document.getElementById("embed-composer");
const errorLine = document.getElementById("embed-error");
const bar = document.getElementById("connection-bar");
const current = Number(body.dataset.conversation) || null;
const LIST_AGAIN_MS = 300;
// Times in the page's language and the viewer's time zone, the server's and the socket's alike.
const when = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

let listTimer = null;
let ended = false;
let sentCount = 0;

function showStatus(element) {
  element.textContent = labels.statuses[element.dataset.status] || "";
}

function showTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) time.textContent = when.format(new Date(time.dateTime));
}

function messageItem(message) {
  const item = document.createElement("li");
  item.className = `embed-message embed-message-${message.direction}`;
  item.dataset.id = String(message.id);
  const text = document.createElement("p");
  text.dir = "auto";
  if (message.text) {
    text.textContent = message.text;
  } else {
    const kind = document.createElement("span");
    kind.className = "muted";
    kind.textContent = `[${labels.types[message.type] || labels.message}]`;
    text.append(kind);
  }
  const time = document.createElement("time");
  time.className = "muted small";
  time.dateTime = message.created_at;
  time.textContent = when.format(new Date(message.created_at));
  item.append(text, time);
  if (message.direction === "outbound") {
    const status = document.createElement("span");
    status.className = "muted small embed-status";
    status.dataset.status = message.status;
    showStatus(status);
    item.append(" ", status);
  }
  return item;
}

function addMessage(message) {
  if (!thread || message.conversation_id !== current) return;
  if (thread.querySelector(`[data-id="${message.id}"]`)) return;
  thread.querySelector(".embed-no-messages")?.remove();
  thread.append(messageItem(message));
  thread.scrollTop = thread.scrollHeight;
}

function updateMessage(message) {
  const status = thread?.querySelector(`[data-id="${message.id}"] .embed-status`);
  if (status) {
    status.dataset.status = message.status;
    showStatus(status);
  }
}

// The list (and, after missed pushes, the thread) as the server renders it: the embed's own page, escaped.
async function reload({ withThread = false } = {}) {
  if (ended) return;
  let response;
  try {
    response = await fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "omit" });
  } catch {
    return; // offline: the next connection reloads
  }
  if (response.status === 404) {
    end();
    return;
  }
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const freshList = page.getElementById("embed-list");
  if (freshList) list.replaceChildren(...freshList.childNodes);
  const freshThread = page.getElementById("embed-messages");
  if (withThread && thread && freshThread) {
    thread.replaceChildren(...freshThread.childNodes);
    thread.querySelectorAll(".embed-status").forEach(showStatus);
    showTimes(thread);
    thread.scrollTop = thread.scrollHeight;
  }
}

function reloadListSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => reload(), LIST_AGAIN_MS);
}

function end() {
  if (ended) return;
  ended = true;
  body.dataset.live = "ended";
  bar.hidden = true;
  document.getElementById("embed-ended").hidden = false;
  composer?.remove();
}

function showError(text) {
  if (!errorLine) return;
  errorLine.textContent = text;
  errorLine.hidden = !text;
}

const live = new LiveSocket(body.dataset.ws, {
  event(type, data) {
    if (type === "message.created") (data.messages || []).forEach(addMessage);
    else if (type === "message.updated") (data.messages || []).forEach(updateMessage);
    else if (type === "conversation.updated") reloadListSoon();
  },
  reply(frame) {
    if (frame.type === "message.sent") {
      addMessage(frame.message);
      showError("");
    } else if (frame.type === "error") {
      showError(frame.detail);
    }
  },
  hello({ first }) {
    body.dataset.live = "open";
    // What changed between the page's rendering (or the last connection) and this one.
    reload({ withThread: !first });
  },
  gap: () => reload({ withThread: true }),
  state(state) {
    if (state !== "open") body.dataset.live = state;
    bar.hidden = state !== "down";
  },
  ended: end,
});

if (thread) {
  thread.querySelectorAll(".embed-status").forEach(showStatus);
  showTimes(thread);
  thread.scrollTop = thread.scrollHeight;
}

composer?.addEventListener("submit", (event) => {
  const field = composer.elements.text;
  const text = field.value;
  if (!text.trim() || !current) return;
  sentCount += 1;
  if (!live.send({ type: "message.send", conversation_id: current, text, client_id: `embed-${sentCount}` })) return;
  event.preventDefault(); // sent over the socket: no page load
  field.value = "";
  showError("");
});

live.connect();
