// The contact panel (collapsible, on the end side): name, number, opt-out state, tags and notes, edited through the
// contacts API.
import { api } from "./app.js";
import { data, el, icon, t } from "./inbox-format.js";

const $ = (id) => document.getElementById(id);

function errorText(error) {
  const errors = error?.body?.errors;
  if (errors) return Object.values(errors).flat().join(" ");
  return error?.status === 403 ? t("forbidden") : error?.body?.detail || t("error");
}

export class ContactPanel {
  /** hooks: contactChanged(contact) after an edit (the list and thread show the new name). */
  constructor(hooks) {
    this.hooks = hooks;
    this.contact = null;
    this.contactId = null;
    this.request = 0;
    $("contact-name-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save({ name: $("contact-name").value.trim() }, $("contact-name-error"));
    });
    $("tag-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const tag = $("tag-input").value.trim();
      if (!tag || this.contact.tags.includes(tag)) return;
      this.save({ tags: [...this.contact.tags, tag] }, $("tag-error")).then((saved) => {
        if (saved) $("tag-input").value = "";
      });
    });
    $("contact-tags").addEventListener("click", (event) => {
      const button = event.target.closest("[data-tag]");
      if (button) this.save({ tags: this.contact.tags.filter((tag) => tag !== button.dataset.tag) }, $("tag-error"));
    });
    $("notes-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveNotes();
    });
    $("contact-notes").addEventListener("input", () => {
      $("notes-status").textContent = "";
    });
    $("contact-optout-button").addEventListener("click", () => this.action("opt-out"));
    $("contact-optin-button").addEventListener("click", () => this.action("opt-in"));
  }

  async show(contactId) {
    if (contactId === this.contactId && this.contact) return;
    const request = ++this.request;
    this.contactId = contactId;
    this.contact = null;
    $("panel-loading").hidden = false;
    $("panel-content").hidden = true;
    $("panel-error").hidden = true;
    try {
      const contact = await api("GET", `/api/v1/contacts/${contactId}`);
      if (request !== this.request) return;
      this.render(contact);
    } catch (error) {
      if (request !== this.request) return;
      $("panel-loading").hidden = true;
      const box = $("panel-error");
      box.replaceChildren(el("span", { text: errorText(error) }), " ", el("button", { type: "button", class: "button button-small", text: t("retry"), onclick: () => { this.contactId = null; this.show(contactId); } }));
      box.hidden = false;
    }
  }

  render(contact) {
    const previous = this.contact;
    this.contact = contact;
    $("panel-loading").hidden = true;
    $("panel-content").hidden = false;
    $("contact-name").value = contact.name;
    $("contact-name").placeholder = contact.profile_name;
    $("contact-profile-name").textContent = contact.profile_name && contact.profile_name !== contact.name ? t("profile_name", { name: contact.profile_name }) : "";
    $("contact-phone").textContent = contact.phone || (contact.wa_id ? `+${contact.wa_id}` : "");
    $("contact-optout").textContent = contact.opted_out ? t("opted_out") : t("subscribed");
    $("contact-optout").className = contact.opted_out ? "badge badge-warning" : "badge";
    $("contact-optout-button").hidden = contact.opted_out;
    $("contact-optin-button").hidden = !contact.opted_out || data.me.role !== "admin";
    $("contact-tags").replaceChildren(
      ...contact.tags.map((tag) =>
        el(
          "li",
          { class: "tag" },
          el("span", { dir: "auto", text: tag }),
          el("button", { type: "button", class: "tag-remove", dataset: { tag }, "aria-label": t("remove_tag", { tag }), title: t("remove_tag", { tag }) }, icon("x")),
        ),
      ),
    );
    const link = $("contact-link");
    // The contacts pages' detail is /contacts/<id>/ under their list's URL.
    if (link) link.href = `${document.getElementById("inbox").dataset.contactsUrl}${contact.id}/`;
    const notes = $("contact-notes");
    // Saving the name or a tag keeps the notes being typed (changed since they were shown) as they are.
    if (!previous || previous.id !== contact.id || notes.value === previous.notes) {
      notes.value = contact.notes;
      $("notes-status").textContent = "";
    }
    for (const error of [$("contact-name-error"), $("tag-error"), $("notes-error")]) error.hidden = true;
  }

  async saveNotes() {
    const button = $("notes-save");
    const status = $("notes-status");
    button.disabled = true;
    status.textContent = t("notes_saving");
    const saved = await this.save({ notes: $("contact-notes").value }, $("notes-error"));
    button.disabled = false;
    status.textContent = saved ? t("notes_saved") : "";
    if (saved) $("contact-notes").value = this.contact.notes;
  }

  async save(changes, errorBox) {
    errorBox.hidden = true;
    try {
      const contact = await api("PATCH", `/api/v1/contacts/${this.contact.id}`, changes);
      this.render(contact);
      this.hooks.contactChanged(contact);
      return true;
    } catch (error) {
      errorBox.textContent = errorText(error);
      errorBox.hidden = false;
      return false;
    }
  }

  async action(name) {
    try {
      this.render(await api("POST", `/api/v1/contacts/${this.contact.id}/${name}`));
    } catch (error) {
      const box = $("tag-error");
      box.textContent = errorText(error);
      box.hidden = false;
    }
  }
}
