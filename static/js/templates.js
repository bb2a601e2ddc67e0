// The templates list and a template's page: status and quality badges that follow Meta's verdicts as they come
// (`template.updated` on the organization's live socket), the sync from Meta with its progress, the filters applied
// as chosen, and the delete button waiting for the template's name.
import { api, ApiError } from "./app.js";
import "./confirm.js";
import { LiveSocket } from "./live.js";

const page = document.querySelector("[data-ws]");
const labels = JSON.parse(document.getElementById("template-labels").textContent);
const bar = document.getElementById("connection-bar");
const stale = document.querySelector("[data-stale]");
const POLL_EVERY = 1000;

// --- live badges ------------------------------------------------------------------------------------------------

function paint(badge, value, names, tones) {
  badge.textContent = names[value] ?? value;
  badge.className = tones[value] ? `badge badge-${tones[value]}` : "badge";
}

function show(template) {
  const rows = document.querySelectorAll(`[data-template-id="${template.id}"]`);
  if (!rows.length && stale && !template.deleted_at) stale.hidden = false; // new here: offer to show it
  for (const row of rows) {
    const status = row.querySelector("[data-status]");
    if (status) {
      status.dataset.status = template.status;
      paint(status, template.status, labels.status, labels.status_tones);
      if (template.rejected_reason) status.title = template.rejected_reason;
      else status.removeAttribute("title");
    }
    const quality = row.querySelector("[data-quality]");
    if (quality) {
      quality.dataset.quality = template.quality_score;
      paint(quality, template.quality_score, labels.quality, labels.quality_tones);
    }
    const reason = row.querySelector("[data-rejected-reason]");
    if (reason) {
      reason.textContent = template.rejected_reason;
      reason.closest("[data-rejection]").hidden = !template.rejected_reason;
    }
  }
}

/** The list as the server shows it now (same address, same filters), without leaving the page. */
async function refresh() {
  const results = document.querySelector("[data-results]");
  if (!results) return;
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  results.replaceWith(fresh.querySelector("[data-results]"));
  const total = document.querySelector(".templates-total");
  const freshTotal = fresh.querySelector(".templates-total");
  if (total && freshTotal) total.textContent = freshTotal.textContent;
  if (stale) stale.hidden = true;
}

if (page) {
  const live = new LiveSocket(page.dataset.ws, {
    event(type, data) {
      if (type === "template.updated") for (const template of data.templates || []) show(template);
    },
    reply() {},
    hello({ first }) {
      if (!first) refresh(); // back after a break: what changed meanwhile
    },
    gap: () => refresh(),
    state(state) {
      bar.hidden = state !== "down";
    },
    ended() {
      bar.hidden = true;
    },
  }, { events: ["template.updated"] });
  live.connect();
}
document.querySelector("[data-refresh]")?.addEventListener("click", () => refresh());

// --- sync from Meta ------------------------------------------------------------------------------------------------

const words = JSON.parse(document.getElementById("sync-words")?.textContent || "{}");
const syncStatus = document.querySelector("[data-sync-status]");
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
const sum = (syncs, key) => syncs.reduce((total, sync) => total + (sync[key] || 0), 0);

function say(text, tone = "") {
  syncStatus.textContent = text;
  syncStatus.className = tone ? `notice notice-${tone}` : "notice";
  syncStatus.hidden = false;
}

async function follow(ids) {
  const syncs = await Promise.all(ids.map((id) => api("GET", `/api/v1/templates/syncs/${id}`)));
  if (syncs.some((sync) => sync.status === "queued" || sync.status === "running")) {
    say(fill(words.running, { pages: sum(syncs, "pages") }));
    await new Promise((resolve) => setTimeout(resolve, POLL_EVERY));
    return follow(ids);
  }
  const failed = syncs.filter((sync) => sync.status === "failed");
  if (failed.length) say(fill(words.failed, { error: failed.map((sync) => sync.error).join(" ") }), "danger");
  else say(fill(words.done, { created: sum(syncs, "created"), updated: sum(syncs, "updated"), deleted: sum(syncs, "deleted") }), "success");
  await refresh();
}

for (const button of document.querySelectorAll("[data-sync]")) {
  button.addEventListener("click", async () => {
    const buttons = document.querySelectorAll("[data-sync]");
    for (const each of buttons) each.disabled = true;
    say(fill(words.running, { pages: 0 }));
    try {
      const started = await api("POST", "/api/v1/templates/sync", {});
      await follow(started.syncs.map((sync) => sync.id));
    } catch (error) {
      const detail = error instanceof ApiError ? error.message : String(error);
      say(fill(words.refused, { error: detail }), "danger");
    } finally {
      for (const each of buttons) each.disabled = false;
    }
  });
}

// --- filters: a chosen status, category or number applies at once; empty filters stay out of the address --------

const filters = document.querySelector("form[data-filters]");
if (filters) {
  for (const name of ["status", "category", "number"]) {
    filters.elements[name]?.addEventListener("change", () => filters.requestSubmit());
  }
  filters.addEventListener("submit", () => {
    for (const field of filters.elements) {
      if (field.name && !field.value) field.disabled = true;
    }
  });
  window.addEventListener("pageshow", () => {
    for (const field of filters.elements) field.disabled = false;
  });
}
