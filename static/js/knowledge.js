// A knowledge base's page: uploads through the API with a progress bar (XHR: fetch has no upload progress), the new
// document's row shown at once, and the documents' statuses polled from the API while one is queued or being
// processed (every POLL_MS), so "Processing" becomes "Ready" (or "Failed" with the reason) without a reload. A
// document's delete asks first. Without JavaScript the same forms post to the page.
import { api } from "./app.js";

const root = document.getElementById("knowledge-base");
const data = JSON.parse(document.getElementById("knowledge-data").textContent);
const labels = JSON.parse(document.getElementById("knowledge-labels").textContent);
const POLL_MS = 2000;
const BUSY = new Set(["pending", "processing"]);
let timer = null;

// A label in Python's %-format, as the view's gettext wrote it: %(name)s replaced, %% a percent sign.
const format = (template, values) =>
  template.replace(/%\((\w+)\)s|%%/g, (match, key) => (match === "%%" ? "%" : String(values[key] ?? "")));

// --- the documents' rows ---------------------------------------------------------------------------------------------

function setNote(cell, selector, className, text) {
  let note = cell.querySelector(selector);
  if (!text) {
    note?.remove();
    return;
  }
  if (!note) {
    note = document.createElement("span");
    note.className = `small ${className}`;
    note.setAttribute(selector.slice(1, -1), "");
    cell.append(note);
  }
  note.textContent = text;
}

function showDocument(doc) {
  const row = root.querySelector(`[data-document="${doc.id}"]`);
  if (!row) return false;
  const badge = row.querySelector("[data-status]");
  badge.dataset.status = doc.status;
  badge.className = `badge ${data.badges[doc.status] || ""}`.trim();
  badge.textContent = data.statuses[doc.status] || doc.status;
  const cell = row.querySelector(".document-status");
  setNote(cell, "[data-error]", "document-error", doc.error);
  setNote(cell, "[data-warning]", "document-warning", doc.warning);
  row.querySelector("[data-chunks]").textContent = String(doc.chunk_count);
  return true;
}

async function refreshRows() {
  // New rows (an upload) come as the page renders them: the same markup, delete form and all.
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const selector of ["[data-documents]", "[data-documents-empty]", ".knowledge-counts"]) {
    const fresh = page.querySelector(selector);
    const current = root.querySelector(selector);
    if (fresh && current) current.replaceWith(document.importNode(fresh, true));
  }
  bindDeletes();
}

async function poll() {
  timer = null;
  let body;
  try {
    body = await api("GET", `${data.documents_url}?page_size=100`);
  } catch {
    schedule();
    return;
  }
  let missing = false;
  for (const doc of body.results) missing = !showDocument(doc) || missing;
  const settled = !body.results.some((doc) => BUSY.has(doc.status));
  if (missing || settled) await refreshRows();
  if (!settled) schedule();
}

function schedule() {
  if (timer === null) timer = setTimeout(poll, POLL_MS);
}

function bindDeletes() {
  for (const form of root.querySelectorAll("form[data-confirm-delete]")) {
    if (form.dataset.bound) continue;
    form.dataset.bound = "1";
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirmDelete)) event.preventDefault();
    });
  }
}

// --- upload with progress --------------------------------------------------------------------------------------------

function upload(form) {
  const input = form.querySelector('input[type="file"]');
  const progress = form.querySelector("[data-upload-progress]");
  const bar = form.querySelector("[data-upload-bar]");
  const status = form.querySelector("[data-upload-status]");
  const button = form.querySelector("[data-upload-button]");
  const errors = form.querySelector(".field .errorlist");
  const say = (text, isError = false) => {
    status.textContent = text;
    status.classList.toggle("upload-error", isError);
  };
  errors?.remove();
  if (!input.files.length) {
    progress.hidden = false;
    bar.hidden = true;
    say(labels.choose, true);
    return;
  }
  const body = new FormData();
  body.append("file", input.files[0]);
  const request = new XMLHttpRequest();
  request.open("POST", data.upload_url);
  request.setRequestHeader("Accept", "application/json");
  request.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.round((event.loaded / event.total) * 100);
    bar.value = percent;
    say(format(labels.uploading, { percent }));
  });
  request.addEventListener("load", async () => {
    button.disabled = false;
    let answer = null;
    try {
      answer = JSON.parse(request.responseText);
    } catch {
      answer = null;
    }
    if (request.status === 201) {
      bar.value = 100;
      say(labels.processing);
      form.reset();
      await refreshRows();
      schedule();
      return;
    }
    bar.hidden = true;
    say(answer?.errors?.file?.[0] || answer?.detail || labels.failed, true);
  });
  request.addEventListener("error", () => {
    button.disabled = false;
    bar.hidden = true;
    say(labels.network, true);
  });
  progress.hidden = false;
  bar.hidden = false;
  bar.value = 0;
  say(format(labels.uploading, { percent: 0 }));
  button.disabled = true;
  request.send(body);
}

const uploadForm = root.querySelector("form[data-upload]");
uploadForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  upload(uploadForm);
});

bindDeletes();
if (data.poll) schedule();
