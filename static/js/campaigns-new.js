// The new-campaign page: the templates of the chosen number's account (searchable), the value rows of the chosen
// template (rendered by the server: campaigns-mapping), the live preview, the audience's parts (a tag, contacts
// picked from a search, a CSV file, everyone) with who gets it from the audience-preview API, and the schedule.
import { api } from "./app.js";
import { interpolate } from "./campaigns-live.js";
import { drawPreview, shownValues } from "./campaigns-preview.js";

const form = document.querySelector("form[data-campaign-form]");
const data = JSON.parse(document.getElementById("campaign-new-data").textContent);
const strings = JSON.parse(document.getElementById("campaign-new-strings").textContent);
const $ = (selector) => form.querySelector(selector);
const SEARCH_DELAY = 250;
const SUMMARY_DELAY = 400;

function span(text, className = "", attributes = {}) {
  const element = document.createElement("span");
  if (className) element.className = className;
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

// --- the number and its templates -----------------------------------------------------------------------------------

const numberSelect = $("[data-number]");
const templateSearch = $("[data-template-search]");
const templateOptions = [...form.querySelectorAll("[data-template]")];

function chosenTemplate() {
  const radio = form.querySelector('input[name="template"]:checked');
  return radio ? data.templates[radio.value] : null;
}

function numberChanged() {
  const number = data.numbers[numberSelect.value];
  $("[data-number-limit]").textContent = number ? number.limit.text : "";
  filterTemplates();
  summarySoon();
}

/** Shows the templates of the number's WhatsApp Business Account that match the search; a template of another
account is unchosen. */
function filterTemplates() {
  const account = data.numbers[numberSelect.value]?.waba_id;
  const words = templateSearch.value.trim().toLocaleLowerCase();
  let ofAccount = 0;
  let shown = 0;
  for (const option of templateOptions) {
    const template = data.templates[option.dataset.template];
    const mine = template.waba_id === account;
    const matches = !words || option.textContent.toLocaleLowerCase().includes(words);
    option.hidden = !(mine && matches);
    ofAccount += mine ? 1 : 0;
    shown += mine && matches ? 1 : 0;
    const radio = option.querySelector("input");
    if (!mine && radio.checked) {
      radio.checked = false;
      templateChanged();
    }
  }
  $("[data-templates-empty]").hidden = ofAccount > 0;
  $("[data-templates-nomatch]").hidden = !(ofAccount > 0 && shown === 0);
}

// --- the values of the template's placeholders --------------------------------------------------------------------------

const rowsBox = $("[data-mapping-rows]");
let rowsRequest = 0;

async function templateChanged() {
  const template = chosenTemplate();
  const request = ++rowsRequest;
  $("[data-mapping-error]").hidden = true;
  try {
    const query = new URLSearchParams({ template: template ? String(template.id) : "" });
    const response = await fetch(`${data.mapping_url}?${query}`, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const html = await response.text();
    if (request !== rowsRequest) return;
    rowsBox.innerHTML = html; // the server's rendering of the rows (escaped by Django's templates)
  } catch {
    if (request !== rowsRequest) return;
    rowsBox.replaceChildren();
    $("[data-mapping-error]").hidden = false;
  }
  for (const row of rows()) syncRow(row);
  updatePreview();
  summarySoon();
}

const rows = () => rowsBox.querySelectorAll("[data-mapping-row]");
const sourceOf = (row) => row.querySelector("select").value;

/** A row shows what its source needs: a fixed value, or an attribute's key and a fallback, or a fallback. */
function syncRow(row) {
  const source = sourceOf(row);
  const value = row.querySelector('[data-part="value"]');
  const label = value.querySelector("label");
  value.hidden = source !== "static" && source !== "attribute";
  row.querySelector('[data-part="fallback"]').hidden = source === "static" || source === "";
  label.textContent = source === "attribute" ? label.dataset.labelAttribute : label.dataset.labelStatic;
}

/** The variable_mapping the rows say, as campaigns.views.create.CampaignForm builds it for the services. */
function mapping() {
  const result = {};
  for (const row of rows()) {
    const source = sourceOf(row);
    const value = row.querySelector('[data-part="value"] input').value.trim();
    const fallback = row.querySelector('[data-part="fallback"] input').value.trim();
    if (source === "") continue;
    if (source === "static") {
      let parsed = value;
      if (value.startsWith("{")) {
        try {
          parsed = JSON.parse(value);
        } catch {
          parsed = value;
        }
      }
      result[row.dataset.key] = { type: "static", value: parsed };
      continue;
    }
    const field = source === "attribute" ? `attributes.${value}` : source;
    result[row.dataset.key] = { type: "contact_field", value: field, ...(fallback ? { fallback } : {}) };
  }
  return result;
}

function updatePreview() {
  const template = chosenTemplate();
  const preview = $("[data-preview]");
  preview.hidden = !template;
  $("[data-preview-empty]").hidden = Boolean(template);
  if (template) drawPreview(preview, template, shownValues(template, mapping(), data.contact_fields));
}

rowsBox.addEventListener("change", (event) => {
  const row = event.target.closest("[data-mapping-row]");
  if (row && event.target.matches("select")) syncRow(row);
  updatePreview();
  summarySoon();
});
rowsBox.addEventListener("input", () => {
  updatePreview();
  summarySoon();
});

// --- the audience -----------------------------------------------------------------------------------------------------

const audience = () => form.querySelector('input[name="audience"]:checked')?.value;
const tagSelect = form.elements.tag;

function audienceChanged() {
  for (const part of form.querySelectorAll("[data-audience-part]")) part.hidden = part.dataset.audiencePart !== audience();
  summarySoon();
}

// Contacts picked from a search of the contacts API; each chosen one is a chip holding a hidden contact_ids input.
const contactSearch = $("[data-contact-search]");
const results = $("[data-contact-results]");
const chosenList = $("[data-chosen]");
const contactStatus = $("[data-contact-status]");
let searchTimer = null;
let searchRequest = 0;
let active = -1;

const chosenIds = () => [...chosenList.querySelectorAll('input[name="contact_ids"]')].map((input) => input.value);

async function findContacts() {
  const text = contactSearch.value.trim();
  const request = ++searchRequest;
  if (!text) {
    closeResults();
    contactStatus.textContent = "";
    return;
  }
  contactStatus.textContent = strings.searching;
  try {
    const answer = await api("GET", `${data.contacts_url}?${new URLSearchParams({ search: text, page_size: "8" })}`);
    if (request !== searchRequest) return;
    showResults(answer.results);
    contactStatus.textContent = answer.results.length ? "" : strings.no_contacts;
  } catch {
    if (request !== searchRequest) return;
    closeResults();
    contactStatus.textContent = strings.search_failed;
  }
}

function showResults(contacts) {
  const chosen = new Set(chosenIds());
  results.replaceChildren(
    ...contacts.map((contact) => {
      const option = document.createElement("li");
      const name = contact.name || contact.profile_name || contact.phone || contact.wa_id;
      Object.assign(option.dataset, { id: String(contact.id), name, phone: contact.phone || "" });
      option.id = `contact-option-${contact.id}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.append(span(name, "", { dir: "auto" }), span(contact.phone || "", "ltr num muted"));
      if (chosen.has(String(contact.id))) {
        option.setAttribute("aria-disabled", "true");
        option.title = strings.already_chosen;
      }
      return option;
    }),
  );
  results.hidden = contacts.length === 0;
  contactSearch.setAttribute("aria-expanded", String(!results.hidden));
  highlight(-1);
}

function closeResults() {
  results.hidden = true;
  contactSearch.setAttribute("aria-expanded", "false");
  highlight(-1);
}

function highlight(index) {
  const options = [...results.children];
  active = options.length ? Math.max(-1, Math.min(index, options.length - 1)) : -1;
  options.forEach((option, position) => option.setAttribute("aria-selected", String(position === active)));
  if (active >= 0) {
    contactSearch.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  } else {
    contactSearch.removeAttribute("aria-activedescendant");
  }
}

function chip(id, name, phone) {
  const item = document.createElement("li");
  item.className = "chip";
  item.dataset.contact = id;
  const input = Object.assign(document.createElement("input"), { type: "hidden", name: "contact_ids", value: id });
  const remove = document.createElement("button");
  Object.assign(remove, { type: "button", className: "chip-remove", textContent: "×" });
  remove.dataset.remove = "";
  remove.setAttribute("aria-label", interpolate(strings.remove, { name }));
  item.append(input, span(name, "", { dir: "auto" }));
  if (phone && phone !== name) item.append(document.createTextNode(" "), span(phone, "ltr num muted"));
  item.append(remove);
  return item;
}

function choose(option) {
  if (!option || option.getAttribute("aria-disabled") === "true") return;
  chosenList.append(chip(option.dataset.id, option.dataset.name, option.dataset.phone));
  contactSearch.value = "";
  closeResults();
  contactSearch.focus();
  summarySoon();
}

contactSearch.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(findContacts, SEARCH_DELAY);
});
contactSearch.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    if (results.hidden) return;
    event.preventDefault();
    highlight(active + (event.key === "ArrowDown" ? 1 : -1));
  } else if (event.key === "Enter") {
    event.preventDefault(); // picking a contact never submits the form
    if (active >= 0) choose(results.children[active]);
  } else if (event.key === "Escape" && !results.hidden) {
    event.preventDefault();
    closeResults();
  }
});
contactSearch.addEventListener("blur", closeResults);
results.addEventListener("mousedown", (event) => event.preventDefault()); // the search keeps the focus
results.addEventListener("click", (event) => choose(event.target.closest('[role="option"]')));
chosenList.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-remove]");
  if (!remove) return;
  remove.closest("li").remove();
  contactSearch.focus();
  summarySoon();
});

// A CSV file: its rows counted here; its numbers are read by the server as the campaign is saved.
const fileInput = $("[data-file]");
fileInput.addEventListener("change", async () => {
  const out = $("[data-file-count]");
  const file = fileInput.files[0];
  if (!file) {
    out.textContent = "";
    return;
  }
  const lines = (await file.text()).split(/\r?\n/).filter((line) => line.trim()).length;
  out.textContent = interpolate(strings.file_rows, { count: Math.max(0, lines - 1) });
});

// --- who gets it: the audience-preview API ----------------------------------------------------------------------------

const summary = {
  idle: $("[data-summary-idle]"),
  loading: $("[data-summary-loading]"),
  result: $("[data-summary-result]"),
  error: $("[data-summary-error]"),
};
const idleText = summary.idle.textContent;
const limitWarning = $("[data-limit-warning]");
let summaryTimer = null;
let summaryRequest = 0;

function summaryState(name, idle = idleText) {
  for (const [key, element] of Object.entries(summary)) element.hidden = key !== name;
  summary.idle.textContent = idle;
}

function summarySoon() {
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(summarize, SUMMARY_DELAY);
}

async function summarize() {
  const template = chosenTemplate();
  const kind = audience();
  const request = ++summaryRequest;
  limitWarning.hidden = true;
  if (kind === "csv") return summaryState("idle", strings.csv_not_counted);
  const body = {
    number_id: Number(numberSelect.value),
    template_name: template?.name,
    language: template?.language,
    variable_mapping: mapping(),
    audience: kind,
  };
  if (kind === "tag") body.filters = { tag: tagSelect.value };
  if (kind === "contacts") body.contact_ids = chosenIds().map(Number);
  if (!template || (kind === "tag" && !tagSelect.value) || (kind === "contacts" && !body.contact_ids.length)) {
    return summaryState("idle");
  }
  summaryState("loading");
  let answer;
  try {
    answer = await api("POST", data.preview_url, body);
  } catch (error) {
    if (request !== summaryRequest) return;
    if (error.body?.errors?.variable_mapping) return summaryState("idle", strings.fill_values);
    summary.error.textContent = interpolate(strings.not_counted, { detail: error.body?.detail || error.message });
    return summaryState("error");
  }
  if (request !== summaryRequest) return;
  showSummary(answer);
  summaryState("result");
  const left = data.numbers[numberSelect.value]?.limit.left;
  if (typeof left === "number" && answer.count > left) {
    limitWarning.querySelector("span").textContent = interpolate(strings.limit_warning, { count: answer.count, left });
    limitWarning.hidden = false;
  }
}

function figure(label, count, className = "") {
  const group = document.createElement("div");
  if (className) group.className = className;
  const term = document.createElement("dt");
  term.textContent = label;
  const value = document.createElement("dd");
  value.textContent = String(count);
  group.append(term, value);
  return group;
}

function showSummary(answer) {
  $("[data-summary-figures]").replaceChildren(
    figure(strings.will_get, answer.count),
    figure(strings.in_audience, answer.total),
    ...answer.skipped.map((skip) => figure(skip.reason, skip.count, "skip")),
  );
  $("[data-summary-sample-title]").hidden = answer.sample.length === 0;
  $("[data-summary-sample]").replaceChildren(
    ...answer.sample.map((sample) => {
      const item = document.createElement("li");
      const who = document.createElement("div");
      who.className = "sample-who";
      who.append(span(sample.contact_name, "", { dir: "auto" }));
      if (sample.contact_number !== sample.contact_name) who.append(span(sample.contact_number, "ltr num muted"));
      const text = sample.error ? span(sample.error, "sample-error") : span(sample.preview, "sample-text", { dir: "auto" });
      item.append(who, text);
      return item;
    }),
  );
}

// --- when to send -----------------------------------------------------------------------------------------------------

function whenChanged() {
  const later = form.querySelector('input[name="when"]:checked')?.value === "later";
  $('[data-when-part="later"]').hidden = !later;
  const start = $("[data-start-button]");
  start.textContent = later ? start.dataset.labelLater : start.dataset.labelNow;
}

// --- wiring ---------------------------------------------------------------------------------------------------------------

numberSelect.addEventListener("change", numberChanged);
templateSearch.addEventListener("input", filterTemplates);
templateSearch.addEventListener("keydown", (event) => {
  if (event.key === "Enter") event.preventDefault(); // searching never submits the form
});
for (const radio of form.querySelectorAll('input[name="template"]')) radio.addEventListener("change", templateChanged);
for (const radio of form.querySelectorAll("[data-audience]")) radio.addEventListener("change", audienceChanged);
for (const radio of form.querySelectorAll("[data-when]")) radio.addEventListener("change", whenChanged);
tagSelect.addEventListener("change", summarySoon);

for (const row of rows()) syncRow(row);
numberChanged();
audienceChanged();
whenChanged();
updatePreview();
