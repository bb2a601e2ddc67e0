// The composer's "/" menu: typing "/" at the start of the message (or after a space) lists the organization's canned
// responses matching what follows it, as an ARIA combobox over the textarea (↑/↓ move, Enter or Tab inserts, Esc
// closes). The server fills each text in for the open conversation and the agent (GET canned-responses/?
// conversation_id=): inserting replaces "/words" with that text; a response's attachment waits beside the composer
// and is sent with the text as its caption.
import { api } from "./app.js";
import { el, icon, t } from "./inbox-format.js";

const PAGE_SIZE = 20;
const DEBOUNCE = 120;
// "/" then the query, right before the caret, at the start or after white space.
const TRIGGER = /(^|\s)\/([^\s/]*)$/u;

export class CannedMenu {
  /**
   * textarea: the composer; conversationId(): the open conversation's id; insert(canned, range): puts a chosen
   * response in the composer in place of range [start, end); settingsUrl: where admins manage them (or "").
   */
  constructor({ textarea, conversationId, insert, settingsUrl }) {
    this.textarea = textarea;
    this.conversationId = conversationId;
    this.insert = insert;
    this.settingsUrl = settingsUrl;
    this.items = [];
    this.active = -1;
    this.range = null;
    this.request = 0;
    this.timer = null;
    this.loading = false; // the results shown are for an older query: Enter waits for the current one's
    this.chooseWhenLoaded = false;
    this.cache = new Map(); // `${conversation}|${query}` -> results
    this.list = el("ul", { id: "canned-menu", class: "canned-menu", role: "listbox", "aria-label": t("canned_menu") });
    this.box = el("div", { class: "canned-popup", hidden: true }, this.list, el("p", { class: "canned-menu-hint", "aria-hidden": "true", text: t("canned_hint") }));
    textarea.closest("form").before(this.box);
    textarea.setAttribute("role", "combobox");
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", "canned-menu");
    textarea.setAttribute("aria-expanded", "false");
    textarea.addEventListener("input", () => this.changed());
    textarea.addEventListener("click", () => this.changed());
    // Closed once the focus has gone elsewhere (not when it came back to the composer meanwhile: a close then would
    // drop the lookup of what was typed since).
    textarea.addEventListener("blur", () => setTimeout(() => document.activeElement !== textarea && this.close(), 150));
    // Picking with the pointer must not take the focus away from the composer.
    this.list.addEventListener("mousedown", (event) => event.preventDefault());
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role='option']");
      if (option) this.choose(Number(option.dataset.index));
    });
  }

  get isOpen() {
    return !this.box.hidden;
  }

  /** A new conversation: what was fetched for the previous one no longer applies. */
  reset() {
    this.cache.clear();
    this.close();
  }

  /** The composer changed: the "/query" before the caret, if any, is looked up. */
  changed() {
    const caret = this.textarea.selectionStart;
    if (this.textarea.disabled || caret !== this.textarea.selectionEnd) return this.close();
    const match = TRIGGER.exec(this.textarea.value.slice(0, caret));
    if (!match) return this.close();
    const query = match[2];
    this.range = [caret - query.length - 1, caret];
    clearTimeout(this.timer);
    const cached = this.cache.get(`${this.conversationId()}|${query}`);
    if (cached) {
      this.loading = false;
      return this.show(cached, query);
    }
    this.loading = true;
    this.narrow(query);
    this.timer = setTimeout(() => this.fetch(query), DEBOUNCE);
  }

  /** While the server is asked, the options shown already narrow to what matches (its own order comes after). */
  narrow(query) {
    if (!this.isOpen || !this.items.length) return;
    const folded = query.toLowerCase();
    const matches = (canned) => [canned.shortcut, canned.title, canned.text].some((text) => (text || "").toLowerCase().includes(folded));
    const kept = this.items.filter(matches);
    if (kept.length) this.show(kept, query);
  }

  async fetch(query) {
    const request = ++this.request;
    const conversation = this.conversationId();
    const params = new URLSearchParams({ q: query, page_size: String(PAGE_SIZE) });
    if (conversation) params.set("conversation_id", String(conversation));
    try {
      const page = await api("GET", `/api/v1/canned-responses?${params}`);
      this.cache.set(`${conversation}|${query}`, page.results);
      if (request !== this.request || !this.range) return;
      this.loading = false;
      this.show(page.results, query);
      if (this.chooseWhenLoaded) {
        this.chooseWhenLoaded = false;
        this.choose(0);
      }
    } catch {
      if (request !== this.request || !this.range) return;
      this.loading = false;
      this.chooseWhenLoaded = false;
      this.showMessage(t("canned_failed"));
    }
  }

  show(items, query) {
    this.items = items;
    this.active = items.length ? 0 : -1;
    if (!items.length) {
      this.showMessage(query ? t("canned_none_match", { query }) : t("canned_none"), !query);
      return;
    }
    this.list.replaceChildren(
      ...items.map((canned, index) => {
        const text = canned.rendered_text ?? canned.text;
        return el(
          "li",
          { id: `canned-${canned.id}`, role: "option", class: "canned-option", "aria-selected": String(index === this.active), dataset: { index: String(index) } },
          el("span", { class: "canned-option-head" }, el("bdi", { class: "canned-option-shortcut", text: `/${canned.shortcut}` }), canned.title ? el("span", { class: "canned-option-title", dir: "auto", text: canned.title }) : null, canned.attachment ? el("span", { class: "canned-option-file", title: canned.attachment.filename }, icon(canned.attachment.message_type === "document" ? "file" : canned.attachment.message_type), el("span", { class: "visually-hidden", text: t("canned_with_file", { name: canned.attachment.filename }) })) : null),
          text ? el("span", { class: "canned-option-text", dir: "auto", text }) : null,
        );
      }),
    );
    this.open();
    this.highlight();
  }

  showMessage(message, manage = false) {
    this.items = [];
    this.active = -1;
    const link = manage && this.settingsUrl ? el("a", { href: this.settingsUrl, text: t("canned_manage") }) : null;
    this.list.replaceChildren(el("li", { class: "canned-empty", role: "presentation" }, el("span", { text: message }), link ? " " : null, link));
    this.open();
    this.textarea.removeAttribute("aria-activedescendant");
  }

  open() {
    this.box.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
  }

  close() {
    clearTimeout(this.timer);
    this.request += 1;
    this.range = null;
    this.loading = false;
    this.chooseWhenLoaded = false;
    if (!this.isOpen) return;
    this.box.hidden = true;
    this.items = [];
    this.active = -1;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }

  highlight() {
    for (const option of this.list.querySelectorAll("[role='option']")) {
      const selected = Number(option.dataset.index) === this.active;
      option.setAttribute("aria-selected", String(selected));
      option.classList.toggle("is-active", selected);
      if (selected) {
        this.textarea.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    }
  }

  /** The composer's keys while the menu is open; true when the menu took the key. */
  keydown(event) {
    if (event.isComposing) return false;
    const waiting = this.loading && this.range !== null; // the first results of a "/query" are on their way
    if (!this.isOpen && !waiting) return false;
    const count = this.items.length;
    if (event.key === "Escape") {
      const wasOpen = this.isOpen;
      this.close();
      return wasOpen;
    }
    const choosing = (event.key === "Enter" || event.key === "Tab") && !event.shiftKey;
    if (choosing && this.loading) {
      this.chooseWhenLoaded = true; // the first of the current query's results, once they are in
      return true;
    }
    if (!count) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : -1) + count) % count;
      this.highlight();
      return true;
    }
    if (choosing) {
      this.choose(this.active);
      return true;
    }
    return false;
  }

  choose(index) {
    const canned = this.items[index];
    const range = this.range;
    if (!canned || !range) return;
    this.close();
    this.insert(canned, range);
  }
}
