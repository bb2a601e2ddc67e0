// The conversation list: filters, cursor pages (infinite scroll), rows kept in order of latest activity as live
// updates arrive (reordering waits while the pointer is over the list, so a row never jumps away under it).
import { api } from "./app.js";
import { CLOSING_SOON, contactLabel, data, el, fullTime, icon, initials, relativeTime, samePath, t } from "./inbox-format.js";

const PAGE_SIZE = 30;
const COUNTS_DEBOUNCE = 1500;

const people = new Map(data.people.map((person) => [person.id, person.name]));
const teams = new Map(data.teams.map((team) => [team.id, team.name]));

/** Newest activity first, then the higher id: the API's order. */
function newerFirst(a, b) {
  const at = Date.parse(b.last_message_at) - Date.parse(a.last_message_at);
  return at || b.id - a.id;
}

export class ConversationList {
  /** onOpen(conversation) when a row is chosen. */
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.list = document.getElementById("conversation-list");
    this.scroller = document.getElementById("list-scroll");
    this.stateBox = document.getElementById("list-state");
    this.more = document.getElementById("list-more");
    this.search = document.getElementById("list-search");
    this.filters = { tab: "all", status: "open", number: "", team: "", unread: false, search: "" };
    this.rows = new Map(); // id -> conversation shown
    this.elements = new Map(); // id -> li
    this.order = [];
    this.next = null;
    this.loading = false;
    this.loaded = false;
    this.request = 0;
    this.openId = null;
    this.activeId = null;
    this.pointerInside = false;
    this.reorderPending = false;
    this.countsTimer = null;
    this.bind();
  }

  bind() {
    for (const tab of document.querySelectorAll(".list-tabs [data-tab]")) {
      tab.addEventListener("click", () => this.setFilter("tab", tab.dataset.tab));
    }
    for (const [id, key] of [["filter-status", "status"], ["filter-number", "number"], ["filter-team", "team"]]) {
      document.getElementById(id)?.addEventListener("change", (event) => this.setFilter(key, event.target.value));
    }
    document.getElementById("filter-unread").addEventListener("change", (event) => this.setFilter("unread", event.target.checked));
    let typing = null;
    this.search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.setFilter("search", this.search.value.trim()), 250);
    });
    this.list.addEventListener("click", (event) => {
      const row = event.target.closest(".conv-row");
      if (!row || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      const conversation = this.rows.get(Number(row.dataset.id));
      if (conversation) this.onOpen(conversation);
    });
    this.scroller.addEventListener("pointerenter", () => (this.pointerInside = true));
    this.scroller.addEventListener("pointerleave", () => {
      this.pointerInside = false;
      if (this.reorderPending) this.reorder();
    });
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    }, { root: this.scroller, rootMargin: "200px" }).observe(this.more);
    setInterval(() => this.refreshTimes(), 30000);
    this.selectTab(this.filters.tab);
  }

  selectTab(name) {
    for (const tab of document.querySelectorAll(".list-tabs [data-tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    }
  }

  setFilter(key, value) {
    if (this.filters[key] === value) return;
    this.filters[key] = value;
    if (key === "tab") this.selectTab(value);
    this.reload();
  }

  query(cursorLink) {
    if (cursorLink) return samePath(cursorLink);
    const params = new URLSearchParams({ page_size: PAGE_SIZE });
    const f = this.filters;
    if (f.status) params.set("status", f.status);
    if (f.tab === "mine") params.set("assigned_to", "me");
    if (f.tab === "unassigned") params.set("assigned_to", "none");
    if (f.number) params.set("number", f.number);
    if (f.team) params.set("team", f.team);
    if (f.unread) params.set("unread", "true");
    if (f.search) params.set("search", f.search);
    return `/api/v1/conversations?${params}`;
  }

  /** Whether a conversation belongs in the list under the current filters (search is the server's to decide). */
  matches(conversation) {
    const f = this.filters;
    if (f.status && conversation.status !== f.status) return false;
    if (f.tab === "mine" && conversation.assigned_to !== data.me.id) return false;
    if (f.tab === "unassigned" && conversation.assigned_to !== null) return false;
    if (f.number && conversation.number_id !== Number(f.number)) return false;
    if (f.team && conversation.team !== Number(f.team)) return false;
    if (f.unread && !conversation.unread_count) return false;
    return true;
  }

  async reload() {
    const request = ++this.request;
    this.loading = true;
    this.list.setAttribute("aria-busy", "true");
    this.stateBox.hidden = true;
    if (!this.loaded) this.more.hidden = true;
    try {
      const page = await api("GET", this.query());
      if (request !== this.request) return;
      this.rows.clear();
      this.order = [];
      this.next = page.next;
      this.loaded = true;
      this.take(page.results);
      this.render();
    } catch (error) {
      if (request !== this.request) return;
      this.showError(error);
    } finally {
      if (request === this.request) {
        this.loading = false;
        this.list.setAttribute("aria-busy", "false");
      }
    }
  }

  async loadMore() {
    if (!this.next || this.loading) return;
    const request = this.request;
    this.loading = true;
    try {
      const page = await api("GET", this.query(this.next));
      if (request !== this.request) return;
      this.next = page.next;
      this.take(page.results);
      this.render();
    } catch {
      // The sentinel stays: scrolling again retries.
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  /** Catching up after missed events: the first page again, to merge by id (older pages stay as they are). */
  async firstPage() {
    const request = this.request;
    try {
      const page = await api("GET", this.query());
      return request === this.request ? page.results : [];
    } catch {
      return []; // The next event or reconnection catches up again.
    }
  }

  take(conversations) {
    for (const conversation of conversations) {
      if (!this.rows.has(conversation.id)) this.order.push(conversation.id);
      this.rows.set(conversation.id, conversation);
    }
  }

  get(id) {
    return this.rows.get(id);
  }

  /** Live or caught-up conversations: updated in place, added when they belong, removed when they no longer do. */
  upsert(conversations, { fromServerPage = false } = {}) {
    const last = this.order.length ? this.rows.get(this.order[this.order.length - 1]) : null;
    let changed = false;
    for (const conversation of conversations) {
      const known = this.rows.has(conversation.id);
      const belongs = fromServerPage || this.matches(conversation);
      if (!belongs || (!known && this.filters.search)) {
        if (known && conversation.id !== this.openId) {
          this.rows.delete(conversation.id);
          this.order = this.order.filter((id) => id !== conversation.id);
          changed = true;
        } else if (known) {
          this.rows.set(conversation.id, conversation);
          this.updateRow(conversation);
        }
        continue;
      }
      // A conversation older than the last row loaded comes with its page, when the list is scrolled there.
      if (!known && this.next && last && newerFirst(conversation, last) > 0) continue;
      this.rows.set(conversation.id, conversation);
      if (!known) {
        this.order.push(conversation.id);
        changed = true;
      } else {
        this.updateRow(conversation);
      }
    }
    if (changed) this.render();
    else this.reorder();
    this.countsSoon();
  }

  reorder() {
    if (this.pointerInside) {
      this.reorderPending = true;
      return;
    }
    this.reorderPending = false;
    const sorted = [...this.order].sort((a, b) => newerFirst(this.rows.get(a), this.rows.get(b)));
    if (sorted.some((id, index) => id !== this.order[index])) {
      this.order = sorted;
      this.placeRows();
    }
  }

  render() {
    if (!this.pointerInside) this.order.sort((a, b) => newerFirst(this.rows.get(a), this.rows.get(b)));
    else this.reorderPending = true;
    for (const skeleton of this.list.querySelectorAll(".row-skeleton")) skeleton.remove();
    for (const [id, item] of this.elements) {
      if (!this.rows.has(id)) {
        item.remove();
        this.elements.delete(id);
      }
    }
    for (const id of this.order) if (!this.elements.has(id)) this.elements.set(id, this.buildRow(this.rows.get(id)));
    this.placeRows();
    this.more.hidden = !this.next;
    this.showEmpty();
  }

  placeRows() {
    let previous = null;
    for (const id of this.order) {
      const item = this.elements.get(id);
      const expected = previous ? previous.nextSibling : this.list.firstChild;
      if (item !== expected) this.list.insertBefore(item, expected);
      previous = item;
    }
  }

  showEmpty() {
    this.stateBox.replaceChildren();
    if (this.order.length) {
      this.stateBox.hidden = true;
      return;
    }
    const filtered = this.filters.search || this.filters.tab !== "all" || this.filters.status !== "open" || this.filters.number || this.filters.team || this.filters.unread;
    if (filtered || data.counts.all > 0) {
      this.stateBox.append(el("p", { text: t("no_results") }));
    } else {
      this.stateBox.append(document.getElementById("empty-inbox").content.cloneNode(true));
    }
    this.stateBox.hidden = false;
  }

  showError(error) {
    for (const skeleton of this.list.querySelectorAll(".row-skeleton")) skeleton.remove();
    const message = error?.status === 403 ? error.body?.detail || t("forbidden") : t("load_failed");
    this.stateBox.replaceChildren(
      el("p", { class: "state-error", role: "alert", text: message }),
      el("button", { type: "button", class: "button", text: t("retry"), onclick: () => this.reload() }),
    );
    this.stateBox.hidden = false;
  }

  buildRow(conversation) {
    const item = el("li", { class: "conv-item" });
    item.append(this.rowLink(conversation));
    return item;
  }

  updateRow(conversation) {
    const item = this.elements.get(conversation.id);
    if (item) item.replaceChildren(this.rowLink(conversation));
  }

  rowLink(conversation) {
    const name = contactLabel(conversation.contact);
    const date = new Date(conversation.last_message_at);
    const last = conversation.last_message;
    const preview = last ? `${last.direction === "outbound" ? t("you") : ""}${last.text || t(last.type) }` : t("no_messages_yet");
    const expires = conversation.window_expires_at ? Date.parse(conversation.window_expires_at) - Date.now() : null;
    const closingSoon = expires !== null && expires > 0 && expires < CLOSING_SOON;
    const link = el(
      "a",
      {
        class: "conv-row",
        href: `${document.getElementById("inbox").dataset.inboxUrl}${conversation.id}/`,
        dataset: { id: conversation.id },
        "aria-current": conversation.id === this.openId ? "true" : null,
      },
      el("span", { class: "avatar", "aria-hidden": "true", text: initials(name) }),
      el(
        "span",
        { class: "conv-main" },
        el(
          "span",
          { class: "conv-top" },
          el("span", { class: "conv-name" }, el("bdi", { text: name })),
          el("time", { class: "conv-time num", datetime: conversation.last_message_at, title: fullTime(date), text: relativeTime(date) }),
        ),
        el(
          "span",
          { class: "conv-bottom" },
          el("span", { class: "conv-preview" }, el("bdi", { text: preview })),
          closingSoon ? el("span", { class: "window-dot", role: "img", title: t("window_closing_soon"), "aria-label": t("window_closing_soon") }) : null,
          conversation.status === "closed" && this.filters.status !== "closed" ? el("span", { class: "badge", text: t("closed") }) : null,
          conversation.team ? el("span", { class: "conv-team", title: t("team", { name: teams.get(conversation.team) || "" }) }, icon("team"), el("span", { class: "visually-hidden", text: t("team", { name: teams.get(conversation.team) || "" }) })) : null,
          conversation.assigned_to ? this.assignee(conversation.assigned_to) : null,
          conversation.unread_count ? el("span", { class: "count", "aria-label": t("unread", { count: conversation.unread_count }), text: conversation.unread_count }) : null,
        ),
      ),
    );
    if (conversation.id === this.activeId) link.classList.add("is-active");
    return link;
  }

  assignee(userId) {
    const name = people.get(userId) || t("someone");
    const label = t("assigned_to", { name });
    return el("span", { class: `avatar avatar-xs${userId === data.me.id ? " is-me" : ""}`, role: "img", title: label, "aria-label": label, text: initials(name) });
  }

  refreshTimes() {
    for (const time of this.list.querySelectorAll(".conv-time")) time.textContent = relativeTime(new Date(time.dateTime));
  }

  markOpen(id) {
    this.openId = id;
    this.activeId = id;
    for (const link of this.list.querySelectorAll(".conv-row")) {
      const current = Number(link.dataset.id) === id;
      if (current) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
      link.classList.toggle("is-active", current);
    }
  }

  /** j/k: moves the keyboard cursor `step` rows; returns the conversation under it. */
  move(step) {
    if (!this.order.length) return null;
    const index = this.order.indexOf(this.activeId ?? this.openId);
    const next = Math.min(this.order.length - 1, Math.max(0, index === -1 ? 0 : index + step));
    this.activeId = this.order[next];
    for (const link of this.list.querySelectorAll(".conv-row")) link.classList.toggle("is-active", Number(link.dataset.id) === this.activeId);
    const link = this.elements.get(this.activeId)?.querySelector(".conv-row");
    link?.scrollIntoView({ block: "nearest" });
    link?.focus({ preventScroll: true });
    if (next >= this.order.length - 3) this.loadMore();
    return this.rows.get(this.activeId);
  }

  active() {
    return this.rows.get(this.activeId ?? this.openId) ?? null;
  }

  /** The tabs' counts, read again a moment after live changes (one request for a burst). */
  countsSoon() {
    clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(() => this.refreshCounts(), COUNTS_DEBOUNCE);
  }

  async refreshCounts() {
    try {
      const response = await fetch(document.getElementById("inbox").dataset.countsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const counts = await response.json();
      data.counts = counts;
      for (const badge of document.querySelectorAll("[data-count]")) badge.textContent = counts[badge.dataset.count] ?? "";
    } catch {
      // Kept as they were; the next change tries again.
    }
  }
}
