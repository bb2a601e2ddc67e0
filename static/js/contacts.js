// The contacts pages: relative times (the absolute one in the title), the tag filter applied when chosen, tags
// added as chips, the delete button enabled once the contact's name or number is typed, the import's busy state.

// The delete button waits for the contact's name or number.
import "./confirm.js";

const lang = document.documentElement.lang || undefined;

// --- relative times: <time datetime="..." data-relative> -------------------------------------------------------
const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

function relativeTime(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(0, "second"); // "now"
}

for (const time of document.querySelectorAll("time[data-relative]")) {
  const date = new Date(time.dateTime);
  if (!Number.isNaN(date.getTime())) time.textContent = relativeTime(date);
}

// --- the list's filters: a chosen tag applies at once; empty filters stay out of the address -------------------
const filters = document.querySelector("form[data-filters]");
if (filters) {
  filters.elements.tag?.addEventListener("change", () => filters.requestSubmit());
  filters.addEventListener("submit", () => {
    for (const field of [filters.elements.search, filters.elements.tag]) {
      if (field && !field.value) field.disabled = true;
    }
  });
  // Coming back to the page (back button) must not find the fields still disabled.
  window.addEventListener("pageshow", () => {
    for (const field of filters.elements) field.disabled = false;
  });
}

// --- tags: Enter in "Add tags" turns what was typed into checked chips -----------------------------------------
const newTags = document.querySelector("[data-new-tags]");
const choices = document.querySelector("[data-tag-choices]");
if (newTags && choices) {
  newTags.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    const boxes = new Map([...choices.querySelectorAll("input")].map((box) => [box.value, box]));
    const names = newTags.value.split(/[,;|]/).map((name) => name.trim().replace(/\s+/g, " "));
    for (const name of names.filter(Boolean)) {
      if (boxes.has(name)) {
        boxes.get(name).checked = true;
        continue;
      }
      const label = document.createElement("label");
      label.className = "tag-choice";
      const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "tags", value: name, checked: true });
      const text = Object.assign(document.createElement("span"), { dir: "auto", textContent: name });
      label.append(box, text);
      choices.append(label);
      boxes.set(name, box);
    }
    newTags.value = "";
    const help = document.querySelector("[data-tags-help]");
    if (help) help.hidden = boxes.size === 0;
  });
}

// --- import: a busy button while the file uploads, then the summary in focus ----------------------------------
const importForm = document.querySelector("form[data-import-form]");
if (importForm) {
  const button = importForm.querySelector("button[type=submit]");
  const label = button.textContent;
  importForm.addEventListener("submit", (event) => {
    if (importForm.getAttribute("aria-busy") === "true") {
      event.preventDefault(); // one import per click, however impatient
      return;
    }
    importForm.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.busyLabel;
    button.setAttribute("aria-disabled", "true");
  });
  window.addEventListener("pageshow", () => {
    importForm.removeAttribute("aria-busy");
    button.textContent = label;
    button.removeAttribute("aria-disabled");
  });
}
document.querySelector("[data-import-result]")?.focus();
