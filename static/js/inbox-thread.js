// The open conversation: header (assignment, team, status, the 24-hour window), the messages (history pages,
// day separators, the new-messages marker, reactions, optimistic sends reconciled with the server's) and the
// composer (text, attachments, the 4096 code-point limit, a draft per conversation, the "/" menu of canned responses
// and their attachments).
import { api } from "./app.js";
import { renderLoneReaction, renderMessage } from "./bubbles.js";
import { CannedMenu } from "./inbox-canned.js";
import { CLOSING_SOON, clock, contactLabel, data, dayKey, dayLabel, duration, el, fullTime, icon, icons, initials, t } from "./inbox-format.js";

const PAGE = 50;
const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const COUNTER_FROM = 3500;
const NEAR_BOTTOM = 120;
const people = new Map(data.people.map((person) => [person.id, person.name]));
const numbers = new Map(data.numbers.map((number) => [number.id, number]));

let clientCounter = 0;
const newClientId = () => `c${Date.now().toString(36)}${(clientCounter += 1)}`;

/** What to send for a file: WhatsApp's message type for its MIME type. */
function typeOfFile(file) {
  if (file.type === "image/webp") return "sticker";
  if (file.type.startsWith("image/")) return "image";
  if (file.type.startsWith("video/")) return "video";
  if (file.type.startsWith("audio/")) return "audio";
  return "document";
}

const CALLS_PAGE = 100;
const ALERT_CALLS = new Set(["missed", "rejected", "failed"]);

/** "3:12" (or "1:02:05") for a number of seconds. */
function clockDuration(seconds) {
  const total = Math.max(0, seconds || 0);
  const pad = (value) => String(value).padStart(2, "0");
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  return hours ? `${hours}:${pad(minutes)}:${pad(total % 60)}` : `${minutes}:${pad(total % 60)}`;
}

/** What the thread says of a call: "Missed voice call", "Voice call, 3:12" (the strings of messaging/call_labels.py). */
export function callLabel(call) {
  let key = call.status;
  if (call.direction === "outbound" && (key === "ringing" || key === "missed")) key += "_out";
  if (call.is_video) key += "_video";
  return t(`call_${key}`, { duration: clockDuration(call.duration) });
}

/** A call between the messages: a centred line with its icon, label and time. */
function renderCall(call) {
  const date = new Date(call.started_at);
  return el(
    "li",
    { class: `call-event${ALERT_CALLS.has(call.status) ? " is-alert" : ""}`, id: `call-${call.id}`, dataset: { callId: call.id, status: call.status } },
    el(
      "span",
      { class: "call-event-line" },
      icon(call.is_video ? "video" : "call"),
      el("span", { class: "call-event-label", text: callLabel(call) }),
      el("time", { datetime: call.started_at, title: fullTime(date), text: clock(date) }),
    ),
  );
}

/** An internal note: a yellow-tinted bubble in the middle of the thread, labelled, with its author and time. */
function renderNote(note) {
  const date = new Date(note.created_at);
  return el(
    "li",
    { class: "msg msg-note", id: `note-${note.id}`, dataset: { note: note.id } },
    el(
      "div",
      { class: "bubble" },
      el("span", { class: "msg-label note-label" }, icon("edit"), t("internal_note")),
      el("span", { class: "msg-sender", dir: "auto", text: note.author_name }),
      el("p", { class: "msg-text", dir: "auto", text: note.text }),
      el("span", { class: "msg-meta" }, el("time", { datetime: note.created_at, title: fullTime(date), text: clock(date) })),
    ),
  );
}

const targetOfReaction = (message) => message.reaction?.message_id || message.reply_to?.provider_message_id || null;

export class Thread {
  /**
   * hooks: send(frame) -> bool (the socket), conversationChanged(conversation), markRead(conversation),
   * back() on the narrow layout's back button, togglePanel().
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.conversation = null;
    this.messages = new Map(); // id -> message
    this.calls = new Map(); // id -> call of the open conversation (shown among the messages by time)
    this.notes = new Map(); // id -> internal note of the open conversation (shown among the messages by time)
    this.noteMode = false;
    this.members = []; // who may be mentioned in the open conversation's notes
    this.mentioned = new Map(); // "@Name" -> user id, chosen in the mention menu
    this.mentionIndex = 0;
    this.byProviderId = new Map();
    this.pending = new Map(); // client_id -> optimistic message
    this.nodes = new Map(); // key -> element
    this.hasOlder = false;
    this.loadingOlder = false;
    this.markerBefore = null;
    this.request = 0;
    this.$ = (id) => document.getElementById(id);
    this.scroller = this.$("thread-scroll");
    this.list = this.$("messages");
    this.text = this.$("composer-text");
    this.text.dataset.placeholder = this.text.placeholder;
    this.drafts = new Map(); // conversation id -> {text, attachment} left in the composer
    this.attachment = null; // a canned response's file waiting to be sent: {type, media_id, filename}
    this.canned = new CannedMenu({
      textarea: this.text,
      conversationId: () => this.openId,
      insert: (canned, range) => this.insertCanned(canned, range),
      settingsUrl: document.getElementById("inbox").dataset.cannedUrl || "",
    });
    this.bind();
  }

  bind() {
    this.$("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendText();
    });
    this.text.addEventListener("keydown", (event) => {
      if (this.mentionKeydown(event)) {
        event.preventDefault();
        return;
      }
      if (!this.noteMode && this.canned.keydown(event)) {
        event.preventDefault();
        return;
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendText();
      }
    });
    this.text.addEventListener("input", () => {
      this.composerChanged();
      this.showMentions();
    });
    this.$("mode-reply").addEventListener("click", () => this.setNoteMode(false));
    this.$("mode-note").addEventListener("click", () => this.setNoteMode(true));
    this.$("mention-menu").addEventListener("mousedown", (event) => {
      const option = event.target.closest("[data-user]");
      if (!option) return;
      event.preventDefault();
      this.insertMention(this.mentionOptions()[Number(option.dataset.index)]);
    });
    this.$("attach-button").addEventListener("click", () => this.$("attach-input").click());
    this.$("composer-attachment").addEventListener("click", (event) => {
      if (event.target.closest("[data-remove]")) {
        this.setAttachment(null);
        this.text.focus();
      }
    });
    this.$("attach-input").addEventListener("change", (event) => {
      for (const file of event.target.files) this.sendFile(file);
      event.target.value = "";
    });
    const thread = this.$("thread");
    let depth = 0;
    thread.addEventListener("dragenter", (event) => {
      if (!this.canSend() || !event.dataTransfer?.types.includes("Files")) return;
      depth += 1;
      this.$("drop-hint").hidden = false;
    });
    thread.addEventListener("dragover", (event) => {
      if (this.canSend() && event.dataTransfer?.types.includes("Files")) event.preventDefault();
    });
    thread.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) this.$("drop-hint").hidden = true;
    });
    thread.addEventListener("drop", (event) => {
      depth = 0;
      this.$("drop-hint").hidden = true;
      if (!this.canSend() || !event.dataTransfer?.files.length) return;
      event.preventDefault();
      for (const file of event.dataTransfer.files) this.sendFile(file);
    });
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 300) this.loadOlder();
      if (this.nearBottom()) this.$("jump-latest").hidden = true;
    });
    this.$("jump-latest").addEventListener("click", () => this.scrollToBottom());
    this.list.addEventListener("click", (event) => {
      const retry = event.target.closest("[data-retry]");
      if (retry) this.retry(retry.dataset.retry);
      const quote = event.target.closest(".msg-quote[data-target]");
      if (quote) {
        event.preventDefault();
        const target = this.$(`message-${quote.dataset.target}`);
        target?.scrollIntoView({ block: "center", behavior: "smooth" });
        target?.classList.add("is-flash");
        setTimeout(() => target?.classList.remove("is-flash"), 1500);
      }
    });
    this.$("thread-back").addEventListener("click", () => this.hooks.back());
    this.$("panel-toggle").addEventListener("click", () => this.hooks.togglePanel());
    this.$("status-toggle").addEventListener("click", () => this.toggleStatus());
    this.$("assign-select").addEventListener("change", (event) => {
      const value = event.target.value;
      this.update({ assigned_to: value ? Number(value) : null });
    });
    this.$("team-select")?.addEventListener("change", (event) => {
      const value = event.target.value;
      this.update({ team: value ? Number(value) : null });
    });
    setInterval(() => this.showWindow(), 30000);
  }

  // --- opening and the header -----------------------------------------------------------------------

  async open(conversation) {
    const request = ++this.request;
    this.keepDraft();
    this.conversation = conversation;
    this.restoreDraft();
    this.messages.clear();
    this.calls.clear();
    this.notes.clear();
    this.members = [];
    this.mentioned.clear();
    this.byProviderId.clear();
    this.pending.clear();
    this.nodes.clear();
    this.list.replaceChildren(...Array.from({ length: 4 }, (_, index) => el("li", { class: `msg-skeleton${index % 2 ? " is-out" : ""}`, "aria-hidden": "true" }, el("span", { class: "skeleton" }))));
    this.hasOlder = false;
    this.markerBefore = null;
    this.$("thread-placeholder").hidden = true;
    this.$("thread-body").hidden = false;
    document.getElementById("inbox").classList.add("has-thread");
    this.$("history-state").hidden = true;
    this.$("composer-error").hidden = true;
    this.$("thread-action-error").hidden = true;
    this.$("jump-latest").hidden = true;
    this.showConversation();
    if (this.noteMode) this.loadMembers();
    const unread = conversation.unread_count;
    try {
      const [page, calls, notes] = await Promise.all([
        api("GET", `/api/v1/conversations/${conversation.id}/messages?limit=${PAGE}`),
        this.fetchCalls(conversation),
        this.fetchNotes(conversation),
      ]);
      if (request !== this.request) return;
      this.hasOlder = Boolean(page.next);
      this.takeCalls(calls);
      this.takeNotes(notes);
      this.take(page.results);
      this.placeMarker(unread);
      this.sync();
      const marker = this.nodes.get("new-marker");
      if (marker) marker.scrollIntoView({ block: "center" });
      else this.scrollToBottom();
      if (unread) this.hooks.markRead(conversation);
      // A tall window may show the whole page: nothing to scroll, so the older page comes now.
      if (this.scroller.scrollHeight <= this.scroller.clientHeight) this.loadOlder();
    } catch (error) {
      if (request !== this.request) return;
      this.list.replaceChildren();
      this.showHistoryError(error, () => this.open(this.conversation));
    }
  }

  close() {
    this.request += 1;
    this.keepDraft();
    this.conversation = null;
    this.$("thread-body").hidden = true;
    this.$("thread-placeholder").hidden = false;
    document.getElementById("inbox").classList.remove("has-thread");
  }

  get openId() {
    return this.conversation?.id ?? null;
  }

  /** A newer state of the open conversation (live, or after an action). */
  conversationChanged(conversation) {
    if (conversation.id !== this.openId) return;
    this.conversation = conversation;
    this.showConversation();
  }

  showConversation() {
    const conversation = this.conversation;
    const name = contactLabel(conversation.contact);
    this.$("thread-name").textContent = name;
    this.$("thread-avatar").textContent = initials(name);
    const phone = conversation.contact.phone || (conversation.contact.wa_id ? `+${conversation.contact.wa_id}` : "");
    const number = numbers.get(conversation.number_id);
    this.$("thread-phone").textContent = phone;
    this.$("thread-number").textContent = number ? t("via", { number: number.name }) : "";
    // Templates are WhatsApp Business (Cloud API) messages: a WhatsApp Web number has none.
    this.$("template-button").hidden = this.noteMode || number?.provider === "waha";
    const closed = conversation.status === "closed";
    this.$("status-label").textContent = closed ? t("reopen") : t("close");
    this.$("status-toggle").querySelector("use").setAttribute("href", `${icons}#${closed ? "reopen" : "done"}`);
    this.fillAssignees();
    const team = this.$("team-select");
    if (team) team.value = conversation.team ? String(conversation.team) : "";
    this.showWindow();
  }

  fillAssignees() {
    const select = this.$("assign-select");
    const current = this.conversation.assigned_to;
    const admin = data.me.role === "admin";
    const shown = data.people.filter((person) => person.id === current || person.id === data.me.id || (admin && person.assignable));
    const options = [el("option", { value: "", text: t("unassigned") })];
    for (const person of shown) {
      options.push(el("option", { value: person.id, text: person.id === data.me.id ? t("me", { name: person.name }) : person.name }));
    }
    if (current && !shown.some((person) => person.id === current)) options.push(el("option", { value: current, text: t("someone") }));
    select.replaceChildren(...options);
    select.value = current ? String(current) : "";
    // Agents take a conversation nobody holds or release their own; moving someone else's is an admin's call.
    select.disabled = !admin && current !== null && current !== data.me.id;
  }

  /** The window: a countdown while open, the template notice (and no composer) once closed. */
  showWindow() {
    const conversation = this.conversation;
    if (!conversation) return;
    const state = this.$("window-state");
    const expires = conversation.window_expires_at ? Date.parse(conversation.window_expires_at) : null;
    const noWindow = conversation.window_open && expires === null;
    const open = noWindow || (expires !== null && expires > Date.now());
    state.className = "window-state";
    if (noWindow) {
      state.textContent = t("no_window");
    } else if (open) {
      const left = expires - Date.now();
      state.textContent = t("window_closes_in", { time: duration(left) });
      if (left < CLOSING_SOON) state.classList.add("is-soon");
    } else {
      state.textContent = expires === null ? t("window_never") : t("window_closed");
      state.classList.add("is-closed");
    }
    if (conversation.window_open !== open) conversation.window_open = open;
    // A note is the team's: the customer's window does not matter to it.
    const writable = open || this.noteMode;
    this.$("window-notice").hidden = open || this.noteMode;
    this.text.disabled = !writable;
    this.text.placeholder = this.noteMode ? t("note_placeholder") : open ? this.text.dataset.placeholder : t("template_needed_short");
    this.$("attach-button").disabled = !open;
    this.$("send-button").disabled = !writable || this.tooLong();
  }

  /** A message (or file) to the customer can go: the window is open and the composer is not writing a note. */
  canSend() {
    return Boolean(this.conversation?.window_open) && !this.noteMode;
  }

  async update(changes) {
    const conversation = this.conversation;
    const error = this.$("thread-action-error");
    error.hidden = true;
    try {
      const updated = await api("PATCH", `/api/v1/conversations/${conversation.id}`, changes);
      this.hooks.conversationChanged(updated);
    } catch (failure) {
      error.textContent = failure.body?.errors ? Object.values(failure.body.errors).flat().join(" ") : failure.body?.detail || t("error");
      error.hidden = false;
      this.showConversation();
    }
  }

  toggleStatus() {
    if (!this.conversation) return;
    this.update({ status: this.conversation.status === "closed" ? "open" : "closed" });
  }

  assignToMe() {
    if (this.conversation && this.conversation.assigned_to !== data.me.id) this.update({ assigned_to: data.me.id });
  }

  // --- messages -----------------------------------------------------------------------------------

  take(messages) {
    for (const message of messages) {
      if (message.conversation_id !== this.openId) continue;
      const previous = this.messages.get(message.id);
      // Unchanged (a catch-up brings the same page again): its element stays, a playing video keeps playing.
      if (previous && JSON.stringify(previous) === JSON.stringify(message)) continue;
      this.messages.set(message.id, message);
      if (message.provider_message_id) this.byProviderId.set(message.provider_message_id, message);
      this.forget(message);
      if (message.type === "reaction") {
        const target = this.byProviderId.get(targetOfReaction(message));
        if (target) this.forget(target);
        const before = previous && this.byProviderId.get(targetOfReaction(previous));
        if (before) this.forget(before);
      }
      // A reply that quotes this message shows it: built again now that it is known.
      for (const other of this.messages.values()) {
        if (other.reply_to && (other.reply_to.id === message.id || other.reply_to.provider_message_id === message.provider_message_id)) this.forget(other);
      }
    }
  }

  /** Drops a message's element (both variants: with and without its sender's name), to be built again. */
  forget(message) {
    this.nodes.delete(`m${message.id}`);
    this.nodes.delete(`m${message.id}+sender`);
  }

  /** Live messages: shown in place (or at the end), reconciled with this page's optimistic ones. */
  receive(messages) {
    const mine = messages.filter((message) => message.conversation_id === this.openId);
    if (!mine.length) return;
    const stick = this.nearBottom();
    this.take(mine);
    this.sync();
    if (stick) this.scrollToBottom();
    else if (mine.some((message) => message.direction === "inbound")) this.$("jump-latest").hidden = false;
  }

  /** The conversation's newest calls (a failure shows none: the messages matter more). */
  async fetchCalls(conversation) {
    try {
      const page = await api("GET", `/api/v1/calls?conversation=${conversation.id}&page_size=${CALLS_PAGE}`);
      return page.results;
    } catch {
      return [];
    }
  }

  takeCalls(calls) {
    for (const call of calls) {
      if (call.conversation_id !== this.openId) continue;
      const previous = this.calls.get(call.id);
      if (previous && JSON.stringify(previous) === JSON.stringify(call)) continue;
      this.calls.set(call.id, call);
      this.nodes.delete(`k${call.id}`);
    }
  }

  /** Live calls (call.created, call.updated): shown in place. */
  receiveCalls(calls) {
    const mine = calls.filter((call) => call.conversation_id === this.openId);
    if (!mine.length) return;
    const stick = this.nearBottom();
    this.takeCalls(mine);
    this.sync();
    if (stick) this.scrollToBottom();
    else this.$("jump-latest").hidden = false;
  }

  /** The conversation's newest notes (a failure shows none: the messages matter more). */
  async fetchNotes(conversation) {
    try {
      const page = await api("GET", `/api/v1/conversations/${conversation.id}/notes?limit=${PAGE}`);
      return page.results;
    } catch {
      return [];
    }
  }

  takeNotes(notes) {
    for (const note of notes) {
      if (note.conversation_id !== this.openId || this.notes.has(note.id)) continue;
      this.notes.set(note.id, note);
    }
  }

  /** Live notes (note.created): shown in place. */
  receiveNotes(notes) {
    const mine = notes.filter((note) => note.conversation_id === this.openId && !this.notes.has(note.id));
    if (!mine.length) return;
    const stick = this.nearBottom();
    this.takeNotes(mine);
    this.sync();
    if (stick) this.scrollToBottom();
    else this.$("jump-latest").hidden = false;
  }

  /** Catching up: the newest page again, merged by id. */
  async refreshNewest() {
    const conversation = this.conversation;
    if (!conversation) return;
    try {
      const [page, calls, notes] = await Promise.all([
        api("GET", `/api/v1/conversations/${conversation.id}/messages?limit=${PAGE}`),
        this.fetchCalls(conversation),
        this.fetchNotes(conversation),
      ]);
      if (conversation.id !== this.openId) return;
      this.receiveCalls(calls);
      this.receiveNotes(notes);
      this.receive(page.results);
      this.settleUnanswered(page.results);
    } catch {
      // The next reconnection tries again.
    }
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || !this.conversation) return;
    const oldest = Math.min(...[...this.messages.keys()]);
    const conversation = this.conversation;
    this.loadingOlder = true;
    const state = this.$("history-state");
    state.replaceChildren(el("span", { class: "muted", text: t("loading_more") }));
    state.hidden = false;
    try {
      const page = await api("GET", `/api/v1/conversations/${conversation.id}/messages?limit=${PAGE}&before=${oldest}`);
      if (conversation.id !== this.openId) return;
      const height = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      this.hasOlder = Boolean(page.next);
      state.hidden = true;
      this.take(page.results);
      this.sync();
      // Keep what the reader looks at where it was: the older messages grow the page above it.
      this.scroller.scrollTop = top + (this.scroller.scrollHeight - height);
    } catch (error) {
      if (conversation.id === this.openId) this.showHistoryError(error, () => this.loadOlder());
    } finally {
      this.loadingOlder = false;
    }
  }

  showHistoryError(error, retry) {
    const state = this.$("history-state");
    state.replaceChildren(
      el("span", { role: "alert", text: error?.status === 403 ? error.body?.detail || t("forbidden") : t("thread_failed") }),
      el("button", { type: "button", class: "button button-small", text: t("retry"), onclick: retry }),
    );
    state.hidden = false;
  }

  /** The "new messages" line goes before the oldest of the `unread` newest inbound messages. */
  placeMarker(unread) {
    if (!unread) return;
    const inbound = [...this.messages.values()].filter((message) => message.direction === "inbound" && message.type !== "reaction").sort((a, b) => b.id - a.id);
    const first = inbound[Math.min(unread, inbound.length) - 1];
    this.markerBefore = first ? first.id : null;
  }

  /** Inbound messages that arrive while the page is hidden start a "new messages" line, if none is shown. */
  markUnseen(messages) {
    if (this.markerBefore !== null) return;
    const first = messages.find((message) => message.conversation_id === this.openId && message.direction === "inbound");
    if (first) {
      this.markerBefore = first.id;
      this.sync();
    }
  }

  reactionsOf(message) {
    const latest = new Map();
    for (const other of this.messages.values()) {
      if (other.type !== "reaction" || targetOfReaction(other) !== message.provider_message_id || !message.provider_message_id) continue;
      const seen = latest.get(other.direction);
      if (!seen || other.id > seen.id) latest.set(other.direction, other);
    }
    return [...latest.values()];
  }

  context() {
    return {
      people,
      contactName: this.conversation ? contactLabel(this.conversation.contact) : "",
      quoted: (reply) => (reply.id && this.messages.get(reply.id)) || this.byProviderId.get(reply.provider_message_id) || null,
      reactions: (message) => this.reactionsOf(message),
    };
  }

  /** The list's wanted children in order, reusing the elements already built (media keep playing). */
  sync() {
    const context = this.context();
    const ordered = [...this.messages.values()].sort((a, b) => a.id - b.id);
    const wanted = [];
    let day = null;
    const add = (key, build) => {
      let node = this.nodes.get(key);
      if (!node) {
        node = build();
        this.nodes.set(key, node);
      }
      wanted.push(node);
    };
    let previousSender;
    // The calls in time order; those older than the oldest message loaded wait for its older page.
    const calls = [
      ...[...this.calls.values()].map((call) => ({ at: call.started_at, key: `k${call.id}`, build: () => renderCall(call) })),
      ...[...this.notes.values()].map((note) => ({ at: note.created_at, key: `n${note.id}`, build: () => renderNote(note) })),
    ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.key.localeCompare(b.key));
    const oldest = ordered.length ? Date.parse(ordered[0].timestamp) : Infinity;
    let nextCall = this.hasOlder ? calls.findIndex((call) => Date.parse(call.at) >= oldest) : 0;
    if (nextCall < 0) nextCall = calls.length;
    const callsUntil = (time) => {
      while (nextCall < calls.length && Date.parse(calls[nextCall].at) <= time) {
        const call = calls[nextCall];
        nextCall += 1;
        separate(call.at);
        add(call.key, call.build);
        previousSender = undefined;
      }
    };
    const separate = (timestamp) => {
      const date = new Date(timestamp);
      const key = dayKey(date);
      if (key === day) return false;
      day = key;
      add(`d${key}`, () => el("li", { class: "day-separator", role: "separator" }, el("span", { text: dayLabel(date) })));
      return true;
    };
    for (const message of ordered) {
      callsUntil(Date.parse(message.timestamp));
      if (message.type === "reaction") {
        if (this.byProviderId.has(targetOfReaction(message)) || !message.text) continue;
        const latest = [...this.messages.values()].every((other) => other.type !== "reaction" || other.direction !== message.direction || targetOfReaction(other) !== targetOfReaction(message) || other.id <= message.id);
        if (!latest) continue;
        separate(message.timestamp);
        add(`m${message.id}`, () => renderLoneReaction(message));
        continue;
      }
      const newDay = separate(message.timestamp);
      if (message.id === this.markerBefore) add("new-marker", () => el("li", { class: "new-marker", role: "separator" }, el("span", { text: t("new_messages") })));
      // A colleague's name heads each run of their messages; so does the label of a sender that is no person (a bot).
      const sender = message.direction !== "outbound" ? null : message.sent_by ? (message.sent_by !== data.me.id ? message.sent_by : null) : message.sender_label ? `label:${message.sender_label}` : null;
      const named = sender !== null && (newDay || previousSender !== sender);
      previousSender = message.direction === "outbound" ? sender ?? message.sent_by : undefined;
      add(named ? `m${message.id}+sender` : `m${message.id}`, () => renderMessage(message, { ...context, showSender: named }));
    }
    callsUntil(Infinity);
    for (const message of this.pending.values()) {
      separate(message.timestamp);
      add(`c${message.client_id}`, () => renderMessage(message, context));
    }
    let previous = null;
    for (const node of wanted) {
      const expected = previous ? previous.nextSibling : this.list.firstChild;
      if (node !== expected) this.list.insertBefore(node, expected);
      previous = node;
    }
    while (previous ? previous.nextSibling : this.list.firstChild) (previous ? previous.nextSibling : this.list.firstChild).remove();
    for (const [key, node] of this.nodes) if (!node.isConnected) this.nodes.delete(key);
  }

  nearBottom() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < NEAR_BOTTOM;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.$("jump-latest").hidden = true;
  }

  // --- the composer ---------------------------------------------------------------------------------

  /** What is left in the composer stays with its conversation (a text filled in for one customer never goes to
  another). */
  keepDraft() {
    if (!this.conversation) return;
    const draft = { text: this.text.value, attachment: this.attachment };
    if (draft.text || draft.attachment) this.drafts.set(this.conversation.id, draft);
    else this.drafts.delete(this.conversation.id);
  }

  restoreDraft() {
    const draft = this.drafts.get(this.conversation.id);
    this.canned.reset();
    this.text.value = draft?.text ?? "";
    this.setAttachment(draft?.attachment ?? null);
  }

  /** A canned response chosen in the "/" menu, in place of the "/words" typed (range), filled in by the server. */
  insertCanned(canned, [start, end]) {
    const value = this.text.value;
    const text = canned.rendered_text ?? canned.text;
    const after = value.slice(end);
    const gap = after && !/^\s/u.test(after) ? " " : "";
    this.text.value = value.slice(0, start) + text + gap + after;
    const caret = start + text.length + gap.length;
    this.text.setSelectionRange(caret, caret);
    if (canned.attachment) {
      this.setAttachment({ type: canned.attachment.message_type, media_id: canned.attachment.id, filename: canned.attachment.filename });
    }
    this.composerChanged();
    this.text.focus();
  }

  /** The file sent with the composer's text as its caption (a canned response's), or none. */
  setAttachment(attachment) {
    this.attachment = attachment;
    const box = this.$("composer-attachment");
    box.hidden = !attachment;
    if (attachment) {
      box.replaceChildren(
        icon(attachment.type === "document" ? "file" : attachment.type),
        el("bdi", { class: "composer-attachment-name", text: attachment.filename || t(attachment.type) }),
        el("span", { class: "muted", text: t("caption_note") }),
        el("button", { type: "button", class: "icon-button", "data-remove": "", title: t("remove_attachment") }, icon("x"), el("span", { class: "visually-hidden", text: t("remove_attachment") })),
      );
    }
    this.composerChanged();
  }

  tooLong() {
    return [...this.text.value].length > this.maxText();
  }

  /** A text goes up to WhatsApp's 4096 characters; a caption up to 1024. */
  maxText() {
    return this.attachment ? MAX_CAPTION : MAX_TEXT;
  }

  composerChanged() {
    this.text.style.height = "auto";
    this.text.style.height = `${Math.min(this.text.scrollHeight + 2, 160)}px`;
    const length = [...this.text.value].length;
    const max = this.maxText();
    const counter = this.$("composer-counter");
    counter.hidden = length < max - (MAX_TEXT - COUNTER_FROM);
    counter.textContent = t("counter", { count: length, max });
    counter.classList.toggle("is-over", length > max);
    this.$("send-button").disabled = !(this.canSend() || this.noteMode) || length > max;
    const error = this.$("composer-error");
    if (length > max) {
      error.textContent = t(this.attachment ? "caption_too_long" : "too_long", { max });
      error.hidden = false;
    } else if (error.dataset.kind === "length" || length) {
      error.hidden = true;
    }
    error.dataset.kind = length > max ? "length" : "";
  }

  focusComposer() {
    if (!this.text.disabled) this.text.focus();
  }

  sendText() {
    if (this.noteMode) {
      this.sendNote();
      return;
    }
    const text = this.text.value;
    const attachment = this.attachment;
    if ((!text.trim() && !attachment) || !this.canSend() || this.tooLong()) return;
    this.canned.close();
    this.text.value = "";
    if (attachment) {
      this.setAttachment(null);
      this.sendMedia({ ...attachment, caption: text.trim() });
      return;
    }
    this.composerChanged();
    this.dispatch({ client_id: newClientId(), text });
  }

  // --- internal notes and @mentions -----------------------------------------------------------------------

  /** The composer writes a reply (to the customer) or an internal note (the team's: yellow, never sent). */
  setNoteMode(on) {
    this.noteMode = on;
    this.$("mode-reply").classList.toggle("is-current", !on);
    this.$("mode-reply").setAttribute("aria-pressed", String(!on));
    this.$("mode-note").classList.toggle("is-current", on);
    this.$("mode-note").setAttribute("aria-pressed", String(on));
    this.$("composer").classList.toggle("is-note", on);
    this.$("note-help").hidden = !on;
    this.$("attach-button").hidden = on;
    this.$("template-button").hidden = on || numbers.get(this.conversation?.number_id)?.provider === "waha";
    this.canned.close();
    this.closeMentions();
    this.showWindow();
    if (on) this.loadMembers();
    this.text.focus();
  }

  async loadMembers() {
    const conversation = this.conversation;
    if (!conversation || this.members.length) return;
    try {
      const members = await api("GET", `/api/v1/conversations/${conversation.id}/members`);
      if (conversation.id !== this.openId) return;
      this.members = members;
      if (!this.$("mention-menu").hidden) this.showMentions(); // typed while they were loading
    } catch {
      this.members = [];
    }
  }

  /** The "@word" being typed just before the caret, or null. */
  mentionQuery() {
    const before = this.text.value.slice(0, this.text.selectionStart);
    const match = before.match(/(^|\s)@([^\s@]*)$/u);
    return match ? { query: match[2].toLocaleLowerCase(), start: before.length - match[2].length - 1 } : null;
  }

  mentionOptions() {
    const found = this.mentionQuery();
    if (!found) return [];
    return this.members.filter((member) => member.id !== data.me.id && `${member.name} ${member.email}`.toLocaleLowerCase().includes(found.query)).slice(0, 8);
  }

  showMentions() {
    const menu = this.$("mention-menu");
    if (!this.noteMode || !this.mentionQuery()) {
      this.closeMentions();
      return;
    }
    const options = this.mentionOptions();
    this.mentionIndex = Math.min(this.mentionIndex, Math.max(0, options.length - 1));
    menu.replaceChildren(
      ...(options.length
        ? options.map((member, index) =>
            el(
              "li",
              { role: "option", class: `mention-option${index === this.mentionIndex ? " is-active" : ""}`, "aria-selected": String(index === this.mentionIndex), dataset: { user: member.id, index } },
              el("bdi", { class: "mention-name", text: member.name || member.email }),
              el("span", { class: "muted mention-email", dir: "ltr", text: member.email }),
            ),
          )
        : [el("li", { class: "mention-empty muted", text: t("mention_none") })]),
    );
    menu.hidden = false;
  }

  closeMentions() {
    this.$("mention-menu").hidden = true;
    this.mentionIndex = 0;
  }

  mentionKeydown(event) {
    if (this.$("mention-menu").hidden) return false;
    const options = this.mentionOptions();
    if (event.key === "Escape") {
      this.closeMentions();
      return true;
    }
    if (!options.length) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.mentionIndex = (this.mentionIndex + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
      this.showMentions();
      return true;
    }
    if (event.key === "Enter" || event.key === "Tab") {
      this.insertMention(options[this.mentionIndex]);
      return true;
    }
    return false;
  }

  insertMention(member) {
    const found = this.mentionQuery();
    if (!member || !found) return;
    const label = `@${member.name || member.email}`;
    const caret = this.text.selectionStart;
    this.text.value = `${this.text.value.slice(0, found.start)}${label} ${this.text.value.slice(caret)}`;
    const at = found.start + label.length + 1;
    this.text.setSelectionRange(at, at);
    this.mentioned.set(label, member.id);
    this.closeMentions();
    this.composerChanged();
    this.text.focus();
  }

  async sendNote() {
    const text = this.text.value.trim();
    const conversation = this.conversation;
    if (!text || !conversation || this.tooLong()) return;
    const mentions = [...new Set([...this.mentioned].filter(([label]) => text.includes(label)).map(([, id]) => id))];
    const error = this.$("composer-error");
    this.$("send-button").disabled = true;
    try {
      const note = await api("POST", `/api/v1/conversations/${conversation.id}/notes`, { text, mentions });
      this.text.value = "";
      this.mentioned.clear();
      error.hidden = true;
      this.receiveNotes([note]);
      this.scrollToBottom();
    } catch (failure) {
      error.textContent = failure.body?.errors ? Object.values(failure.body.errors).flat().join(" ") : failure.body?.detail || t("note_failed");
      error.hidden = false;
    } finally {
      this.composerChanged();
      this.showWindow();
    }
  }

  /** Shows the message at once (a clock for a tick), then sends it over the socket, or the API when it is down. */
  dispatch({ client_id, text }) {
    const conversation = this.conversation;
    const optimistic = {
      client_id,
      conversation_id: conversation.id,
      direction: "outbound",
      type: "text",
      text,
      status: "queued",
      timestamp: new Date().toISOString(),
      sent_by: data.me.id,
      reply_to: null,
      sentAt: Date.now(),
    };
    this.pending.set(client_id, optimistic);
    this.sync();
    this.scrollToBottom();
    const frame = { type: "message.send", conversation_id: conversation.id, text, client_id };
    if (this.hooks.send(frame)) {
      optimistic.viaSocket = true;
      return;
    }
    api("POST", `/api/v1/conversations/${conversation.id}/messages`, { type: "text", text })
      .then((message) => this.settle(client_id, message))
      .catch((error) => this.sendFailed(client_id, error.body || {}, error.status));
  }

  /** The server's answer to a send of this page: message.sent or an error, by client_id. */
  answer(frame) {
    if (!this.pending.has(frame.client_id)) return;
    if (frame.type === "message.sent") this.settle(frame.client_id, frame.message);
    else this.sendFailed(frame.client_id, frame);
  }

  settle(clientId, message) {
    this.pending.delete(clientId);
    this.nodes.delete(`c${clientId}`);
    const known = this.messages.get(message.id);
    // A live update may have brought the message (or a newer status of it) first.
    this.take([known && known.status !== "queued" ? known : message]);
    this.sync();
  }

  sendFailed(clientId, body, status) {
    const message = this.pending.get(clientId);
    if (!message) return;
    if (body.code === "window_closed" || status === 409) {
      this.conversation.window_open = false;
      this.showWindow();
    }
    message.send_error = body.detail || t("network_error");
    this.nodes.delete(`c${clientId}`);
    this.sync();
  }

  /** After a reconnection: a send the socket never answered is found among the newest messages, or failed. */
  settleUnanswered(serverMessages) {
    for (const [clientId, message] of this.pending) {
      if (!message.viaSocket || message.send_error || message.file || message.media) continue;
      const found = serverMessages.find((other) => other.direction === "outbound" && other.sent_by === data.me.id && other.text === message.text && Date.parse(other.created_at) >= message.sentAt - 60000 && ![...this.pending.values()].some((p) => p.matched === other.id));
      if (found) {
        message.matched = found.id;
        this.settle(clientId, found);
      } else {
        this.sendFailed(clientId, { detail: t("network_error") });
      }
    }
  }

  /** A failed send of this page, sent again (as a new message: the failed one was never stored). */
  retry(clientId) {
    const message = this.pending.get(clientId);
    if (!message) return;
    this.pending.delete(clientId);
    this.nodes.delete(`c${clientId}`);
    if (message.file) this.sendFile(message.file);
    else if (message.media) this.sendMedia(message.media);
    else this.dispatch({ client_id: newClientId(), text: message.text });
  }

  /** A file already stored (a canned response's attachment) sent by its media_id, the caption with it. */
  sendMedia(media) {
    if (!this.conversation || !this.canSend()) return;
    const body = { type: media.type, media_id: media.media_id };
    if (media.caption) body.caption = media.caption;
    this.sendFileMessage({ media }, t("sending_file", { name: media.filename || t(media.type) }), body);
  }

  sendFile(file) {
    if (!this.conversation || !this.canSend()) return;
    const type = typeOfFile(file);
    const caption = type === "image" || type === "video" || type === "document" ? this.text.value.trim() : "";
    if (caption) {
      this.text.value = "";
      this.composerChanged();
    }
    const form = new FormData();
    form.append("type", type);
    form.append("file", file, file.name);
    if (caption) form.append("caption", caption);
    this.sendFileMessage({ file }, t("uploading", { name: file.name }), form);
  }

  /** A file's message shown at once (`text` in its place, a clock for a tick), then `body` (JSON, or a form with
  the file) posted; `source` ({file} or {media}) is kept for a retry. */
  async sendFileMessage(source, text, body) {
    const conversation = this.conversation;
    const clientId = newClientId();
    this.pending.set(clientId, {
      client_id: clientId,
      conversation_id: conversation.id,
      direction: "outbound",
      type: "text",
      text,
      status: "queued",
      timestamp: new Date().toISOString(),
      sent_by: data.me.id,
      reply_to: null,
      ...source,
    });
    this.sync();
    this.scrollToBottom();
    try {
      const message = await api("POST", `/api/v1/conversations/${conversation.id}/messages`, body);
      if (conversation.id === this.openId) this.settle(clientId, message);
    } catch (error) {
      if (conversation.id !== this.openId) return;
      const fieldErrors = error.body?.errors ? Object.values(error.body.errors).flat().join(" ") : "";
      this.sendFailed(clientId, { ...(error.body || {}), detail: fieldErrors || error.body?.detail }, error.status);
    }
  }
}
