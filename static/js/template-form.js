// A new template: the form becomes Meta's components (what POST /api/v1/templates/ takes), the preview follows what
// is typed (variables shown with their examples), and the API's answer comes back next to what it names: a field, a
// component (HEADER, BODY, FOOTER, BUTTONS) or a button (buttons[0]). Nothing is checked here that the API does not
// check: the same service decides.
import { api, ApiError } from "./app.js";

const form = document.querySelector("form[data-template-form]");
const words = JSON.parse(document.getElementById("form-words")?.textContent || "{}");
const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const MEDIA = new Set(["IMAGE", "VIDEO", "DOCUMENT"]);

const $ = (selector, root = form) => root.querySelector(selector);
const field = (name) => form.elements[name];
const named = () => form.elements.parameter_format.value === "NAMED";
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

/** The variables of a text, each once: numbered ones in order of their number, named ones as they come. */
function variables(text) {
  const found = [...new Set([...text.matchAll(VARIABLE)].map((match) => match[1]))];
  return found.every((name) => /^\d+$/.test(name)) ? found.sort((a, b) => Number(a) - Number(b)) : found;
}

// --- examples: one field per variable, kept while the text changes ------------------------------------------------

const examples = { header: new Map(), body: new Map() };

function syncExamples(part, text) {
  const box = $(`[data-examples-for="${part}"]`);
  const names = variables(text);
  const kept = examples[part];
  for (const [name, wrapper] of kept) {
    if (!names.includes(name)) {
      wrapper.remove();
      kept.delete(name);
    }
  }
  for (const name of names) {
    if (kept.has(name)) {
      box.append(kept.get(name)); // in the variables' order
      continue;
    }
    const wrapper = Object.assign(document.createElement("div"), { className: "field" });
    const id = `example-${part}-${name}`;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: fill(words.example, { name: `{{${name}}}` }) });
    const input = Object.assign(document.createElement("input"), { type: "text", id, dir: "auto", autocomplete: "off" });
    input.dataset.example = name;
    input.addEventListener("input", preview);
    wrapper.append(label, input);
    kept.set(name, wrapper);
    box.append(wrapper);
  }
}

const exampleOf = (part, name) => examples[part].get(name)?.querySelector("input").value.trim() ?? "";

/** Meta's example object of a header's or body's text, or undefined without variables. */
function exampleFor(part, text) {
  const names = variables(text);
  if (!names.length) return undefined;
  if (named()) {
    return { [`${part}_text_named_params`]: names.map((name) => ({ param_name: name, example: exampleOf(part, name) })) };
  }
  const values = names.map((name) => exampleOf(part, name));
  return { [`${part}_text`]: part === "body" ? [values] : values };
}

// --- buttons -------------------------------------------------------------------------------------------------------

const buttonsBox = $("[data-buttons]");
let rowCount = 0;

function showButtonFields(row) {
  const type = row.querySelector("[name=button_type]").value;
  const url = row.querySelector("[name=button_url]").value;
  const kinds = new Set([type]);
  if (type === "URL" && variables(url).length) kinds.add("URL_VARIABLE");
  for (const part of row.querySelectorAll("[data-when]")) {
    part.hidden = !part.dataset.when.split(" ").some((kind) => kinds.has(kind));
  }
}

function addButton() {
  const row = document.getElementById("button-row").content.firstElementChild.cloneNode(true);
  rowCount += 1;
  for (const label of row.querySelectorAll("[data-label-for]")) {
    const input = row.querySelector(`[name=${label.dataset.labelFor}]`);
    input.id = `button-${rowCount}-${label.dataset.labelFor}`;
    label.htmlFor = input.id;
  }
  row.querySelector("[data-remove-button]").addEventListener("click", () => {
    row.remove();
    preview();
  });
  row.addEventListener("input", () => {
    showButtonFields(row);
    preview();
  });
  buttonsBox.append(row);
  showButtonFields(row);
  row.querySelector("select").focus();
  preview();
}

function buttonOf(row) {
  const value = (name) => row.querySelector(`[name=${name}]`).value.trim();
  const type = value("button_type");
  if (type === "COPY_CODE") return { type, example: value("button_code") };
  const button = { type, text: value("button_text") };
  if (type === "URL") {
    button.url = value("button_url");
    if (variables(button.url).length) button.example = [value("button_example")];
  }
  if (type === "PHONE_NUMBER") button.phone_number = value("button_phone");
  return button;
}

// --- the components ---------------------------------------------------------------------------------------------------

function components() {
  const list = [];
  const headerFormat = field("header_format").value;
  if (headerFormat === "TEXT") {
    const text = field("header_text").value;
    const header = { type: "HEADER", format: "TEXT", text };
    const example = exampleFor("header", text);
    if (example) header.example = example;
    list.push(header);
  } else if (headerFormat) {
    list.push({ type: "HEADER", format: headerFormat });
  }
  const text = field("body_text").value;
  const body = { type: "BODY", text };
  const example = exampleFor("body", text);
  if (example) body.example = example;
  list.push(body);
  if (field("footer_text").value.trim()) list.push({ type: "FOOTER", text: field("footer_text").value });
  const buttons = [...buttonsBox.querySelectorAll("[data-button-row]")].map(buttonOf);
  if (buttons.length) list.push({ type: "BUTTONS", buttons });
  return list;
}

// --- the preview -------------------------------------------------------------------------------------------------------

/** `text` into `element`, each variable as its example (marked), or as written while it has none. */
function showText(element, text, part) {
  element.replaceChildren();
  let last = 0;
  for (const match of text.matchAll(VARIABLE)) {
    element.append(text.slice(last, match.index));
    const mark = document.createElement("mark");
    mark.textContent = exampleOf(part, match[1]) || match[0];
    element.append(mark);
    last = match.index + match[0].length;
  }
  element.append(text.slice(last));
}

function preview() {
  const headerFormat = field("header_format").value;
  $("[data-header-text]").hidden = headerFormat !== "TEXT";
  $("[data-header-file]").hidden = !MEDIA.has(headerFormat);
  syncExamples("header", headerFormat === "TEXT" ? field("header_text").value : "");
  syncExamples("body", field("body_text").value);
  const header = document.querySelector("[data-preview-header]");
  header.hidden = headerFormat !== "TEXT" || !field("header_text").value.trim();
  showText(header, field("header_text").value, "header");
  const media = document.querySelector("[data-preview-media]");
  media.hidden = !headerFormat || headerFormat === "TEXT";
  media.textContent = headerFormat ? words[headerFormat.toLowerCase()] || "" : "";
  const body = document.querySelector("[data-preview-body]");
  if (field("body_text").value.trim()) showText(body, field("body_text").value, "body");
  else body.textContent = words.empty_body;
  const footer = document.querySelector("[data-preview-footer]");
  footer.textContent = field("footer_text").value;
  footer.hidden = !field("footer_text").value.trim();
  const buttons = document.querySelector("[data-preview-buttons]");
  buttons.replaceChildren(
    ...[...buttonsBox.querySelectorAll("[data-button-row]")].map((row) => {
      const button = buttonOf(row);
      return Object.assign(document.createElement("li"), { dir: "auto", textContent: button.text || words.copy_code });
    }),
  );
  for (const input of form.querySelectorAll("[data-counted]")) counter(input);
}

function counter(input) {
  let count = input.parentElement.querySelector(".counter");
  if (!count) {
    count = Object.assign(document.createElement("span"), { className: "counter" });
    count.setAttribute("aria-hidden", "true");
    input.after(count);
  }
  const limit = Number(input.dataset.counted);
  count.textContent = `${input.value.length}/${limit}`;
  count.classList.toggle("is-over", input.value.length > limit);
}

// --- the API's answer, next to what it names ------------------------------------------------------------------

function clearErrors() {
  for (const list of form.querySelectorAll("[data-errors-for], [data-row-errors]")) {
    if (list.dataset.errorsFor === "__all__") list.hidden = true;
    list.replaceChildren();
  }
  for (const marked of form.querySelectorAll(".has-error")) marked.classList.remove("has-error");
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function place(list, messages) {
  if (!list) return false;
  list.append(...messages.map((message) => Object.assign(document.createElement("li"), { textContent: message })));
  list.closest(".field, .section, .button-row")?.classList.add("has-error");
  list.closest(".field")?.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  return true;
}

function showErrors(body) {
  const errors = body?.errors || {};
  const elsewhere = [];
  for (const [key, value] of Object.entries(errors)) {
    if (key !== "components") {
      if (!place(form.querySelector(`[data-errors-for="${key}"]`), [].concat(value))) elsewhere.push(...[].concat(value));
      continue;
    }
    if (Array.isArray(value)) {
      elsewhere.push(...value);
      continue;
    }
    for (const [where, messages] of Object.entries(value)) {
      const button = where.match(/^buttons\[(\d+)\]$/);
      const list = button
        ? buttonsBox.querySelectorAll("[data-button-row]")[Number(button[1])]?.querySelector("[data-row-errors]")
        : form.querySelector(`[data-errors-for="${where}"]`);
      if (!place(list, messages)) elsewhere.push(...messages);
    }
  }
  const top = form.querySelector('[data-errors-for="__all__"]');
  const placed = form.querySelector(".has-error");
  top.textContent = elsewhere.length ? elsewhere.join(" ") : placed ? words.fix : fill(words.failed, { detail: body?.detail || "" });
  top.hidden = false;
  (placed || top).scrollIntoView({ block: "center" });
}

async function submit(event) {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (button.disabled) return;
  const label = button.textContent;
  button.disabled = true;
  button.textContent = button.dataset.busyLabel;
  clearErrors();
  const values = {
    name: field("name").value.trim(),
    language: field("language").value.trim(),
    category: field("category").value,
    parameter_format: form.elements.parameter_format.value,
    components: components(),
  };
  if (field("number_id").value) values.number_id = Number(field("number_id").value);
  const file = MEDIA.has(field("header_format").value) ? field("header_file").files[0] : undefined;
  let body = values;
  if (file) {
    body = new FormData();
    for (const [key, value] of Object.entries(values)) body.append(key, key === "components" ? JSON.stringify(value) : value);
    body.append("header_file", file);
  }
  try {
    const template = await api("POST", form.dataset.api, body);
    window.location.assign(`${form.dataset.detail}${template.id}/`);
  } catch (error) {
    showErrors(error instanceof ApiError ? error.body : { detail: String(error) });
    button.disabled = false;
    button.textContent = label;
  }
}

if (form) {
  form.addEventListener("input", preview);
  form.addEventListener("change", preview);
  form.addEventListener("submit", submit);
  $("[data-add-button]").addEventListener("click", addButton);
  $("[data-add-variable]").addEventListener("click", () => {
    const body = field("body_text");
    const names = variables(body.value);
    const next = named() ? "{{name}}" : `{{${names.filter((name) => /^\d+$/.test(name)).length + 1}}}`;
    const at = body.selectionStart ?? body.value.length;
    body.setRangeText(next, at, body.selectionEnd ?? at, "end");
    body.focus();
    preview();
  });
  preview();
}
