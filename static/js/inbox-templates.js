// The inbox's template picker: the approved templates of the conversation's number, searched
// (GET templates/?status=APPROVED&number=&search=), then a form for the chosen one's placeholders, prefilled from
// the contact where the placeholder plainly asks for them, a live preview, and the send
// (POST templates/{id}/send {conversation_id, parameters}; or, for a new conversation, {to, number_id, parameters}).
// Sending does not open the 24-hour window (only the customer's reply does); the thread shows the message as it
// comes back over the socket.
import { api } from "./app.js";
import { el, icon, t } from "./inbox-format.js";

const SEARCH_DELAY = 200;
const PAGE_SIZE = 50;
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
// Prefilled from the contact: a variable named for what it holds...
const NAME_KEYS = new Set(["name", "full_name", "fullname", "customer_name", "contact_name", "client_name", "customer"]);
const FIRST_NAME_KEYS = new Set(["first_name", "firstname", "fname", "given_name"]);
const PHONE_KEYS = new Set(["phone", "phone_number", "mobile", "whatsapp_number"]);
// ... or the body's variable right after a greeting ("Hello {{1}},"), which can only be the customer's name.
const GREETING = /(?:^|[\s,.!؛،])(hi|hello|hey|dear|hola|bonjour|مرحبا|مرحباً|أهلا|أهلاً|اهلا|هلا|عزيزي|عزيزتي)[\s,]*$/iu;
const LOCATION_PARTS = ["latitude", "longitude", "name", "address"];

const $ = (id) => document.getElementById(id);

function componentOf(template, type) {
  return (template.components || []).find((component) => String(component.type).toUpperCase() === type) || null;
}

function firstName(name) {
  return (name || "").trim().split(/\s+/u)[0] || "";
}

/** What the contact gives a placeholder, and why ("" when nothing: the agent fills it in). */
function prefill(template, placeholder, contact) {
  if (placeholder.kind !== "text") return "";
  const name = (placeholder.name || "").toLowerCase();
  const fullName = (contact.name || "").trim();
  const phone = contact.phone || (contact.wa_id ? `+${contact.wa_id}` : "");
  if (NAME_KEYS.has(name)) return fullName;
  if (FIRST_NAME_KEYS.has(name)) return firstName(fullName);
  if (PHONE_KEYS.has(name)) return phone;
  if (placeholder.component === "body" && /^\d+$/u.test(name)) {
    const text = componentOf(template, "BODY")?.text || "";
    const at = text.search(new RegExp(`\\{\\{\\s*${name}\\s*\\}\\}`, "u"));
    if (at > 0 && GREETING.test(text.slice(0, at))) return firstName(fullName);
  }
  return "";
}

export class TemplatePicker {
  /** conversation(): the open conversation; sent(message): the template message stored (202). */
  constructor({ conversation, sent }) {
    this.conversation = conversation;
    this.sent = sent;
    this.dialog = $("template-dialog");
    this.template = null;
    this.request = 0;
    this.timer = null;
    this.bind();
  }

  bind() {
    $("template-search").addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), SEARCH_DELAY);
    });
    $("template-search").addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        $("template-list").querySelector("button")?.focus();
      }
    });
    $("template-list").addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      const buttons = [...$("template-list").querySelectorAll("button")];
      const index = buttons.indexOf(document.activeElement);
      event.preventDefault();
      if (event.key === "ArrowUp" && index <= 0) $("template-search").focus();
      else buttons[Math.min(buttons.length - 1, index + (event.key === "ArrowDown" ? 1 : -1))]?.focus();
    });
    $("template-back").addEventListener("click", () => this.showList());
    $("template-form").addEventListener("input", () => this.preview());
    $("template-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    for (const button of this.dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => this.dialog.close());
  }

  /** Into the open conversation; or, given `{to, numberId}`, to a phone (a new conversation). */
  open(phone = null) {
    this.phone = phone;
    const conversation = this.subject();
    if (!conversation) return;
    this.conversationId = conversation.id;
    $("template-search").value = "";
    this.showList();
    this.dialog.showModal();
    $("template-search").focus();
    this.load();
  }

  /** What the templates are sent to: the open conversation, or the phone of a new one. */
  subject() {
    if (!this.phone) return this.conversation();
    return { id: null, number_id: this.phone.numberId, contact: { phone: this.phone.to } };
  }

  showList() {
    this.template = null;
    $("template-choose").hidden = false;
    $("template-form").hidden = true;
    if (this.dialog.open) $("template-search").focus();
  }

  async load() {
    const conversation = this.subject();
    if (!conversation) return;
    const request = ++this.request;
    const list = $("template-list");
    const state = $("template-list-state");
    list.setAttribute("aria-busy", "true");
    const params = new URLSearchParams({ status: "APPROVED", number: String(conversation.number_id), page_size: String(PAGE_SIZE) });
    const search = $("template-search").value.trim();
    if (search) params.set("search", search);
    try {
      const page = await api("GET", `/api/v1/templates/?${params}`);
      if (request !== this.request) return;
      this.templates = page.results;
      list.replaceChildren(...page.results.map((template) => this.row(template)));
      state.hidden = page.results.length > 0;
      state.replaceChildren(el("p", { text: search ? t("templates_none_match") : t("templates_none") }));
    } catch (error) {
      if (request !== this.request) return;
      list.replaceChildren();
      state.replaceChildren(el("p", { role: "alert", text: error.body?.detail || t("templates_failed") }), el("button", { type: "button", class: "button button-small", text: t("retry"), onclick: () => this.load() }));
      state.hidden = false;
    } finally {
      if (request === this.request) list.setAttribute("aria-busy", "false");
    }
  }

  row(template) {
    const body = componentOf(template, "BODY")?.text || "";
    return el(
      "li",
      {},
      el(
        "button",
        { type: "button", class: "template-row", onclick: () => this.choose(template) },
        el("span", { class: "template-row-head" }, el("span", { class: "mono template-name", dir: "ltr", text: template.name }), el("span", { class: "badge", dir: "ltr", text: template.language }), el("span", { class: "badge badge-accent", text: t(`category_${String(template.category).toLowerCase()}`) })),
        el("span", { class: "template-row-text", dir: "auto", text: template.preview || body }),
      ),
    );
  }

  // --- the form -------------------------------------------------------------------------------------------

  choose(template) {
    this.template = template;
    const contact = this.subject()?.contact || {};
    $("template-form-title").textContent = template.name;
    $("template-form-language").textContent = template.language;
    $("template-error").hidden = true;
    const fields = (template.placeholders || []).map((placeholder, index) => this.field(placeholder, index, prefill(template, placeholder, contact)));
    $("template-fields").replaceChildren(...(fields.length ? fields : [el("p", { class: "muted", text: t("template_no_values") })]));
    $("template-choose").hidden = true;
    $("template-form").hidden = false;
    this.preview();
    ($("template-fields").querySelector("input:not([value]), input[value='']") || $("template-send")).focus();
  }

  field(placeholder, index, value) {
    const id = `template-value-${index}`;
    const help = [];
    if (value) help.push(el("span", { class: "prefilled", text: t("template_prefilled") }));
    if (placeholder.example) help.push(el("span", { text: t("template_example", { example: placeholder.example }) }));
    const box = el("div", { class: "field", dataset: { key: placeholder.key } });
    if (placeholder.kind === "location") {
      const parts = LOCATION_PARTS.map((part) =>
        el("label", { class: "location-part" }, el("span", { text: t(`location_${part}`) }), el("input", { type: part.endsWith("itude") ? "number" : "text", step: "any", dir: "auto", dataset: { part }, required: part.endsWith("itude") })),
      );
      box.append(el("fieldset", { class: "location-fields" }, el("legend", {}, el("bdi", { text: placeholder.label })), ...parts));
    } else {
      const media = ["image", "video", "document"].includes(placeholder.kind);
      box.append(
        el("label", { for: id }, el("bdi", { text: placeholder.label })),
        el("input", {
          id,
          type: media ? "url" : "text",
          dir: media ? "ltr" : "auto",
          value,
          placeholder: media ? "https://…" : placeholder.example || "",
          required: placeholder.required,
          autocomplete: "off",
          "aria-describedby": `${id}-help`,
        }),
      );
      if (media) help.push(el("span", { text: t("template_media_link") }));
    }
    box.append(el("p", { class: "help", id: `${id}-help` }, ...help.flatMap((part, i) => (i ? [" · ", part] : [part]))), el("p", { class: "error", hidden: true }));
    return box;
  }

  /** The values typed, by placeholder key (empty ones left out: the server names the required ones). */
  values() {
    const values = {};
    for (const box of $("template-fields").querySelectorAll("[data-key]")) {
      const parts = box.querySelectorAll("[data-part]");
      if (parts.length) {
        const location = {};
        for (const input of parts) if (input.value.trim()) location[input.dataset.part] = input.dataset.part.endsWith("itude") ? Number(input.value) : input.value.trim();
        if (Object.keys(location).length) values[box.dataset.key] = location;
      } else {
        const value = box.querySelector("input").value;
        if (value.trim()) values[box.dataset.key] = value;
      }
    }
    return values;
  }

  /** The message as the customer will read it: the texts with the values in, missing ones marked. */
  preview() {
    const template = this.template;
    if (!template) return;
    const values = this.values();
    const fill = (text, prefix) => {
      const nodes = [];
      let last = 0;
      for (const match of text.matchAll(PLACEHOLDER)) {
        nodes.push(text.slice(last, match.index));
        const value = values[`${prefix}${match[1]}`];
        nodes.push(typeof value === "string" && value ? el("span", { class: "filled", text: value }) : el("span", { class: "missing", text: match[0] }));
        last = match.index + match[0].length;
      }
      nodes.push(text.slice(last));
      return nodes;
    };
    const parts = [];
    const header = componentOf(template, "HEADER");
    if (header) {
      const format = String(header.format || "TEXT").toUpperCase();
      if (format === "TEXT") parts.push(el("p", { class: "preview-header", dir: "auto" }, ...fill(header.text || "", "header.")));
      else parts.push(el("div", { class: "preview-media" }, icon({ IMAGE: "image", VIDEO: "video", LOCATION: "pin" }[format] || "file"), el("span", { text: t(`header_${format.toLowerCase()}`) })));
    }
    const body = componentOf(template, "BODY");
    if (body) parts.push(el("p", { class: "preview-body", dir: "auto" }, ...fill(body.text || "", "")));
    const footer = componentOf(template, "FOOTER");
    if (footer?.text) parts.push(el("p", { class: "preview-footer muted", dir: "auto", text: footer.text }));
    const buttons = componentOf(template, "BUTTONS")?.buttons || [];
    const bubble = el("div", { class: "preview-bubble" }, ...parts);
    const chips = buttons.length
      ? el("div", { class: "preview-buttons" }, ...buttons.map((button) => {
          const mark = { URL: "globe", PHONE_NUMBER: "phone", COPY_CODE: "file" }[String(button.type).toUpperCase()];
          return el("span", { class: "preview-button", dir: "auto" }, mark ? icon(mark) : null, button.text || "");
        }))
      : null;
    $("template-preview").replaceChildren(bubble, chips || "");
  }

  showErrors(error) {
    const errors = error.body?.errors?.parameters;
    let placed = false;
    for (const box of $("template-fields").querySelectorAll("[data-key]")) {
      const messages = errors && typeof errors === "object" ? errors[box.dataset.key] : null;
      const line = box.querySelector(".error");
      box.classList.toggle("has-error", Boolean(messages));
      line.hidden = !messages;
      line.textContent = messages ? [].concat(messages).join(" ") : "";
      placed ||= Boolean(messages);
    }
    const summary = $("template-error");
    summary.hidden = placed;
    if (!placed) {
      const fields = error.body?.errors ? Object.values(error.body.errors).flat().filter((item) => typeof item === "string").join(" ") : "";
      summary.textContent = fields || error.body?.detail || t("error");
    }
    (this.dialog.querySelector(".has-error input") || summary).focus?.();
  }

  async send() {
    const template = this.template;
    const target = this.phone ? { to: this.phone.to, number_id: this.phone.numberId } : { conversation_id: this.conversationId };
    if (!template) return;
    const button = $("template-send");
    button.disabled = true;
    this.showErrors({ body: {} });
    $("template-error").hidden = true;
    try {
      const message = await api("POST", `/api/v1/templates/${template.id}/send`, { ...target, parameters: this.values() });
      this.dialog.close();
      this.sent(message);
    } catch (error) {
      this.showErrors(error);
    } finally {
      button.disabled = false;
    }
  }
}
