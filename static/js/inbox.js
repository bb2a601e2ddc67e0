// The inbox page: wires the list, the thread and the contact panel to the live socket, the address bar, the
// keyboard, the tab's title and notifications, and the dialogs (new conversation, play the customer, the template
// picker, shortcuts).
import { api } from "./app.js";
import { previewOf } from "./bubbles.js";
import { contactLabel, data, t } from "./inbox-format.js";
import { ConversationList } from "./inbox-list.js";
import { ContactPanel } from "./inbox-panel.js";
import { TemplatePicker } from "./inbox-templates.js";
import { FlowPicker } from "./inbox-flows.js";
import { Thread } from "./inbox-thread.js";
import { LiveSocket } from "./live.js";

const $ = (id) => document.getElementById(id);
const root = $("inbox");
const bar = $("connection-bar");
const narrow = window.matchMedia("(max-width: 768px)");
const baseTitle = document.title;
const known = new Map(); // id -> the latest state seen of every conversation (names for notifications)
let initialLoaded = false;
let unseen = 0;
const reading = new Map(); // conversation id -> the timer of its read receipt
const READ_DELAY = 250;

const setView = (view) => {
  root.dataset.view = view;
};

// --- the three panes ------------------------------------------------------------------------------

const list = new ConversationList({ onOpen: (conversation) => openConversation(conversation, { push: true }) });

const panel = new ContactPanel({
  contactChanged(contact) {
    const changed = [...known.values()]
      .filter((conversation) => conversation.contact.id === contact.id)
      .map((conversation) => ({ ...conversation, contact: { ...conversation.contact, name: contact.name || contact.profile_name, phone: contact.phone } }));
    conversationsUpdated(changed);
  },
});

const live = new LiveSocket(root.dataset.ws, {
  event(type, payload) {
    if (type === "conversation.updated") {
      conversationsUpdated(payload.conversations || []);
      return;
    }
    if (type === "call.created" || type === "call.updated") {
      thread.receiveCalls(payload.calls || []);
      return;
    }
    if (type === "note.created") {
      thread.receiveNotes(payload.notes || []);
      return;
    }
    const messages = payload.messages || [];
    thread.receive(messages);
    if (type === "message.created") messagesArrived(messages);
  },
  reply: (frame) => thread.answer(frame),
  hello({ first }) {
    if (thread.openId) live.send({ type: "conversation.join", conversation_id: thread.openId });
    if (!first || initialLoaded) catchUp();
  },
  gap: () => catchUp(),
  state(state) {
    bar.hidden = state !== "down";
  },
  ended(code, reason) {
    if (code === 4401) {
      bar.textContent = t("session_ended");
      bar.hidden = false;
      const next = encodeURIComponent(window.location.pathname);
      window.location.assign(`${root.dataset.signIn}?next=${next}`);
      return;
    }
    bar.hidden = true;
    const banner = $("access-banner");
    banner.textContent = reason || t("access_removed");
    banner.hidden = false;
  },
}, { events: ["message.created", "message.updated", "conversation.updated", "call.created", "call.updated", "note.created"] });

const thread = new Thread({
  send: (frame) => live.send(frame),
  conversationChanged: (conversation) => conversationsUpdated([conversation]),
  markRead,
  back() {
    const id = thread.openId;
    window.history.pushState({}, "", root.dataset.inboxUrl);
    closeConversation();
    list.elements.get(id)?.querySelector(".conv-row")?.focus();
  },
  togglePanel,
});

const templates = new TemplatePicker({
  conversation: () => thread.conversation,
  // The socket brings it too (and the conversation, open again); shown now in case it is down.
  sent: (message) => {
    if (thread.conversation?.id !== message.conversation_id) return openById(message.conversation_id, { push: true });
    thread.receive([message]);
    thread.scrollToBottom();
  },
});
for (const button of document.querySelectorAll("[data-template-open]")) button.addEventListener("click", () => templates.open());

const flows = new FlowPicker({
  conversation: () => thread.conversation,
  sent: (message) => {
    if (thread.conversation?.id !== message.conversation_id) return;
    thread.receive([message]);
    thread.scrollToBottom();
  },
});
for (const button of document.querySelectorAll("[data-flow-open]")) button.addEventListener("click", () => flows.open());

async function catchUp() {
  thread.refreshNewest();
  list.refreshCounts();
  if (!list.loaded) return list.reload();
  conversationsUpdated(await list.firstPage(), { fromServerPage: true });
}

/** Newer states of conversations (live, caught up, or after an action): the list, the thread, read receipts. */
function conversationsUpdated(conversations, { fromServerPage = false } = {}) {
  if (!conversations.length) return;
  // The tabs count open conversations by assignee: read them again only when one may have moved.
  const moved = conversations.some((conversation) => {
    const before = known.get(conversation.id);
    return !before || before.status !== conversation.status || before.assigned_to !== conversation.assigned_to;
  });
  if (moved) list.countsSoon();
  for (const conversation of conversations) known.set(conversation.id, conversation);
  list.upsert(conversations, { fromServerPage });
  for (const conversation of conversations) {
    if (conversation.id !== thread.openId) continue;
    thread.conversationChanged(conversation);
    if (conversation.unread_count && readingVisible()) markRead(conversation);
  }
  updateTitle();
}

/** The open conversation is in front of the agent: the page is visible and, on a narrow screen, the thread shown. */
function readingVisible() {
  return document.visibilityState === "visible" && (!narrow.matches || root.dataset.view === "thread");
}

/** Opening a conversation (or reading a new message in it) marks it read, over the socket (else the API), once
for a burst of messages: a moment after the last one. */
function markRead(conversation) {
  if (!readingVisible()) return;
  list.upsert([{ ...conversation, unread_count: 0 }]);
  if (reading.has(conversation.id)) return;
  reading.set(
    conversation.id,
    setTimeout(async () => {
      reading.delete(conversation.id);
      if (live.send({ type: "conversation.read", conversation_id: conversation.id })) return;
      try {
        conversationsUpdated([await api("POST", `/api/v1/conversations/${conversation.id}/read`)]);
      } catch {
        // Still unread on the server: the next message or opening marks it again.
      }
    }, READ_DELAY),
  );
}

async function openConversation(conversation, { push }) {
  const previous = thread.openId;
  if (previous && previous !== conversation.id) live.send({ type: "conversation.leave", conversation_id: previous });
  known.set(conversation.id, conversation);
  list.markOpen(conversation.id);
  setView("thread");
  if (push && window.location.pathname !== `${root.dataset.inboxUrl}${conversation.id}/`) {
    window.history.pushState({ id: conversation.id }, "", `${root.dataset.inboxUrl}${conversation.id}/`);
  }
  if (previous !== conversation.id || !thread.conversation) {
    live.send({ type: "conversation.join", conversation_id: conversation.id });
    thread.open(conversation);
  }
  if (!$("contact-panel").hidden) panel.show(conversation.contact.id);
  // The panel's sections from other apps (messaging/extensions.py) follow the conversation shown.
  document.dispatchEvent(new CustomEvent("inbox:conversation", { detail: conversation }));
}

async function openById(id, { push = false } = {}) {
  const conversation = list.get(id) || known.get(id);
  if (conversation) return openConversation(conversation, { push });
  try {
    openConversation(await api("GET", `/api/v1/conversations/${id}`), { push });
  } catch {
    window.location.assign(root.dataset.inboxUrl);
  }
}

/** Back to /inbox/: no conversation open (the placeholder beside the list). */
function closeConversation() {
  if (thread.openId) live.send({ type: "conversation.leave", conversation_id: thread.openId });
  thread.close();
  list.markOpen(null);
  setView("list");
  document.dispatchEvent(new CustomEvent("inbox:conversation", { detail: null }));
}

window.addEventListener("popstate", () => {
  const match = window.location.pathname.match(/\/(\d+)\/$/);
  if (match) openById(Number(match[1]));
  else closeConversation();
});

// --- the contact panel: beside the thread on wide screens, a pane of its own on narrow ones ------------

const PANEL_KEY = "inbox.panel";

function showPanel(open) {
  const box = $("contact-panel");
  box.hidden = !open;
  $("panel-toggle").setAttribute("aria-expanded", String(open));
  root.classList.toggle("has-panel", open);
  if (open && thread.conversation) panel.show(thread.conversation.contact.id);
}

function togglePanel() {
  if (narrow.matches) {
    showPanel(true);
    setView("panel");
    $("panel-close").focus();
    return;
  }
  const open = $("contact-panel").hidden;
  localStorage.setItem(PANEL_KEY, open ? "open" : "closed");
  showPanel(open);
}

$("panel-close").addEventListener("click", () => {
  if (narrow.matches) {
    setView("thread");
    $("panel-toggle").focus();
    return;
  }
  localStorage.setItem(PANEL_KEY, "closed");
  showPanel(false);
});

const storedPanel = localStorage.getItem(PANEL_KEY);
showPanel(narrow.matches ? false : storedPanel ? storedPanel === "open" : window.innerWidth >= 1200);
narrow.addEventListener("change", () => {
  if (!narrow.matches && root.dataset.view === "panel") setView("thread");
  showPanel(!narrow.matches && localStorage.getItem(PANEL_KEY) !== "closed" && window.innerWidth >= 1200);
});

// --- new messages while the tab is hidden: the title's count and notifications ----------------------

function updateTitle() {
  document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
}

function messagesArrived(messages) {
  const inbound = messages.filter((message) => message.direction === "inbound" && message.type !== "reaction");
  if (!inbound.length || document.visibilityState === "visible") return;
  unseen += inbound.length;
  updateTitle();
  thread.markUnseen(inbound);
  // The conversation's push follows its messages': its contact's name is known a moment later.
  setTimeout(() => inbound.forEach(notify), 300);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  unseen = 0;
  updateTitle();
  const open = thread.conversation && known.get(thread.openId);
  if (open?.unread_count) markRead(open);
});

const NOTIFY_KEY = "inbox.notifications";
const notifyButton = $("notify-toggle");

function notificationsOn() {
  return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
}

function showNotifyState() {
  if (!("Notification" in window)) {
    notifyButton.hidden = true;
    return;
  }
  const on = notificationsOn();
  const label = Notification.permission === "denied" ? t("notifications_blocked") : on ? t("notifications_on") : t("notifications_off");
  notifyButton.setAttribute("aria-pressed", String(on));
  notifyButton.title = label;
  $("notify-label").textContent = label;
  notifyButton.classList.toggle("is-on", on);
}

notifyButton.addEventListener("click", async () => {
  if (Notification.permission === "default") await Notification.requestPermission();
  if (Notification.permission === "granted") localStorage.setItem(NOTIFY_KEY, notificationsOn() ? "off" : "on");
  showNotifyState();
});
showNotifyState();

function notify(message) {
  if (!notificationsOn()) return;
  const conversation = known.get(message.conversation_id);
  const name = conversation ? contactLabel(conversation.contact) : t("customer");
  const notification = new Notification(t("notification_title", { name }), { body: previewOf(message), tag: `conversation-${message.conversation_id}` });
  notification.addEventListener("click", () => {
    window.focus();
    openById(message.conversation_id, { push: true });
    notification.close();
  });
}

// --- keyboard -------------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (event.key === "Escape") {
    if (target.id === "composer-text" || target.id === "list-search") {
      target.blur();
      (list.elements.get(thread.openId)?.querySelector(".conv-row") || $("thread")).focus?.();
    }
    return;
  }
  if (target.closest?.("input, textarea, select, [contenteditable='true']") || document.querySelector("dialog[open]:modal")) return;
  const actions = {
    j: () => list.move(1),
    k: () => list.move(-1),
    "/": () => $("list-search").focus(),
    e: () => thread.toggleStatus(),
    a: () => thread.assignToMe(),
    r: () => thread.focusComposer(),
    "?": () => $("help-dialog").showModal(),
    Enter: () => {
      if (target.closest?.("a, button")) return false;
      const active = list.active();
      if (active) openConversation(active, { push: true });
      return Boolean(active);
    },
  };
  const action = actions[event.key];
  if (action && action() !== false) event.preventDefault();
});

// --- dialogs ------------------------------------------------------------------------------------------

$("help-open").addEventListener("click", () => $("help-dialog").showModal());
for (const button of document.querySelectorAll("dialog [data-close]")) button.addEventListener("click", () => button.closest("dialog").close());
document.addEventListener("click", (event) => {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (action === "new") openNewDialog();
  if (action === "play") openPlayDialog();
});

function fieldErrors(form, error) {
  const errors = error?.body?.errors || {};
  let placed = false;
  for (const field of form.querySelectorAll("[data-field]")) {
    const messages = errors[field.dataset.field];
    const box = field.querySelector(".error");
    field.classList.toggle("has-error", Boolean(messages));
    box.hidden = !messages;
    box.textContent = messages ? messages.join(" ") : "";
    placed ||= Boolean(messages);
  }
  return placed;
}

function clearErrors(form, summary) {
  fieldErrors(form, null);
  summary.hidden = true;
}

function openNewDialog() {
  const dialog = $("new-dialog");
  if (!dialog) return;
  clearErrors($("new-form"), $("new-error"));
  $("new-template-notice").hidden = true;
  dialog.showModal();
  $("new-to").focus();
}

$("new-open")?.addEventListener("click", openNewDialog);
// Outside the 24-hour window a new conversation starts with a template: the picker, for the phone typed here.
$("new-template-open")?.addEventListener("click", () => {
  const phone = { to: $("new-to").value.trim(), numberId: Number($("new-number").value) };
  $("new-dialog").close();
  templates.open(phone);
});
$("new-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const summary = $("new-error");
  clearErrors(form, summary);
  $("new-template-notice").hidden = true;
  const body = { to: $("new-to").value.trim(), number_id: Number($("new-number").value), type: "text", text: $("new-text").value };
  const submit = form.querySelector('[type="submit"]');
  submit.disabled = true;
  try {
    const result = await api("POST", "/api/v1/messages/", body);
    const id = result.conversation?.id ?? result.conversation_id ?? result.message?.conversation_id;
    $("new-dialog").close();
    form.reset();
    if (id) openById(id, { push: true });
  } catch (error) {
    if (error.body?.code === "window_closed") {
      $("new-template-notice").hidden = false;
    } else if (!fieldErrors(form, error)) {
      summary.textContent = error.body?.detail || t("error");
      summary.hidden = false;
    }
  } finally {
    submit.disabled = false;
  }
});

function openPlayDialog() {
  const dialog = $("play-dialog");
  if (!dialog) return;
  const conversation = thread.conversation;
  const number = conversation && data.numbers.find((item) => item.id === conversation.number_id && item.provider === "sandbox");
  if (number) {
    $("play-number").value = String(number.id);
    $("play-from").value = conversation.contact.phone || `+${conversation.contact.wa_id}`;
    $("play-name").value = conversation.contact.name || "";
  }
  clearErrors($("play-form"), $("play-error"));
  $("play-done").hidden = true;
  // Not modal: the message is to be watched arriving in the inbox behind it.
  dialog.show();
  $("play-text").focus();
}

$("play-open")?.addEventListener("click", () => ($("play-dialog").open ? $("play-dialog").close() : openPlayDialog()));
$("play-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const summary = $("play-error");
  clearErrors(form, summary);
  $("play-done").hidden = true;
  const body = { number_id: Number($("play-number").value), from: $("play-from").value.trim(), name: $("play-name").value.trim(), text: $("play-text").value };
  const submit = form.querySelector('[type="submit"]');
  submit.disabled = true;
  try {
    await api("POST", "/api/v1/sandbox/inbound", body);
    $("play-text").value = "";
    $("play-done").hidden = false;
    if (!live.isOpen) catchUp();
  } catch (error) {
    if (!fieldErrors(form, error)) {
      summary.textContent = error.body?.detail || t("error");
      summary.hidden = false;
    }
  } finally {
    submit.disabled = false;
    $("play-text").focus();
  }
});
$("play-text")?.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("play-form").requestSubmit();
  }
});

// --- start ----------------------------------------------------------------------------------------

list.reload().then(() => {
  initialLoaded = true;
  for (const conversation of list.rows.values()) known.set(conversation.id, conversation);
});
if (data.opened) openConversation(data.opened, { push: false });
live.connect();
