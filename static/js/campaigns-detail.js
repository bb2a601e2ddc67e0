// A campaign's page: its status, counters, progress and actions moving with the campaign.updated pushes; the
// recipient log from the logs API (pages, status filter, read again as the counters move); the template's preview;
// the confirmation of cancel and delete.
import { api } from "./app.js";
import { interpolate, showCampaign, watchCampaigns } from "./campaigns-live.js";
import { drawPreview, shownValues } from "./campaigns-preview.js";

const root = document.getElementById("campaign");
const data = JSON.parse(document.getElementById("campaign-data").textContent);
const lang = document.documentElement.lang || undefined;
const timeFormat = new Intl.DateTimeFormat(lang, { timeZone: data.time_zone, dateStyle: "medium", timeStyle: "short" });
const LOG_PAGE_SIZE = 25;
const LOG_DELAY = 400; // ms: a burst of pushes reads the log once
let campaign = data.campaign;

function timeElement(iso) {
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = timeFormat.format(new Date(iso));
  return time;
}

// --- the campaign ------------------------------------------------------------------------------------------------

function show(next) {
  const moved = ["status", "sent", "delivered", "read", "replied", "failed", "skipped", "total"].some((key) => next[key] !== campaign[key]);
  campaign = next;
  showCampaign(root, next, data);
  for (const form of root.querySelectorAll("form[data-action]")) form.hidden = !data.actions[form.dataset.action].includes(next.status);
  const warning = root.querySelector("[data-warning]");
  warning.hidden = !next.warning;
  warning.querySelector("[data-warning-text]").textContent = next.warning || "";
  for (const cell of root.querySelectorAll("[data-time]")) {
    const value = next[cell.dataset.time];
    if (value && cell.querySelector("time")?.dateTime !== value) cell.replaceChildren(timeElement(value));
  }
  if (moved) logSoon();
}

watchCampaigns(root, {
  updated(campaigns) {
    const mine = campaigns.find((item) => item.id === campaign.id);
    if (mine) show(mine);
  },
  async reload() {
    try {
      show(await api("GET", data.api_url));
    } catch {
      // Deleted meanwhile, or the network is down: the page stays as it was.
    }
  },
});

// --- the template ------------------------------------------------------------------------------------------------

const preview = root.querySelector("[data-preview]");
if (preview && data.template) drawPreview(preview, data.template, shownValues(data.template, data.mapping, data.contact_fields));

// --- the recipient log -----------------------------------------------------------------------------------------------

const log = root.querySelector("[data-log]");
const rows = log.querySelector("[data-log-rows]");
const statusFilter = log.querySelector("[data-log-status]");
const exportLink = log.querySelector("[data-log-export]");
const pager = log.querySelector("[data-log-pager]");
const state = { page: 1, pages: 1, timer: null, request: 0 };

function cell(content, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? "";
  return td;
}

function span(text, className, attributes = {}) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function logRow(item) {
  const tr = document.createElement("tr");
  const name = span(item.contact_name || "—", "", { dir: "auto" });
  const status = span(data.recipient_labels[item.status] ?? item.status, `badge ${data.recipient_badges[item.status] || ""}`.trim());
  const wamid = item.message_id ? span(item.message_id, "wamid mono", { dir: "ltr", title: item.message_id }) : "—";
  const error = [item.error_code, item.error].filter((part) => part !== null && part !== undefined && part !== "").join(" · ");
  tr.append(
    cell(name),
    cell(span(item.contact_number || "—", "ltr num", { dir: "ltr" })),
    cell(status),
    cell(item.sent_at ? timeElement(item.sent_at) : "—", "num"),
    cell(wamid, "col-wamid"),
    cell(error, error ? "log-error" : "muted"),
  );
  return tr;
}

async function loadLog() {
  const request = ++state.request;
  const query = new URLSearchParams({ page: String(state.page), page_size: String(LOG_PAGE_SIZE) });
  if (statusFilter.value) query.set("status", statusFilter.value);
  rows.setAttribute("aria-busy", "true");
  let answer;
  try {
    answer = await api("GET", `${data.logs_url}?${query}`);
  } catch (error) {
    if (request !== state.request) return;
    if (error.status === 404 && state.page > 1) {
      state.page = 1; // the filter (or a change) left fewer pages
      loadLog();
      return;
    }
    rows.replaceChildren();
    rows.removeAttribute("aria-busy");
    log.querySelector("[data-log-error]").hidden = false;
    return;
  }
  if (request !== state.request) return; // a newer read is on its way
  log.querySelector("[data-log-error]").hidden = true;
  rows.replaceChildren(...answer.results.map(logRow));
  rows.removeAttribute("aria-busy");
  const empty = log.querySelector("[data-log-empty]");
  empty.hidden = answer.count > 0;
  empty.textContent = statusFilter.value ? data.strings.empty_status : data.strings.empty;
  state.pages = Math.max(1, Math.ceil(answer.count / LOG_PAGE_SIZE));
  pager.hidden = state.pages < 2;
  pager.querySelector("[data-log-page-of]").textContent = interpolate(data.strings.page_of, { number: state.page, count: state.pages });
  pager.querySelector('[data-log-page="prev"]').disabled = state.page <= 1;
  pager.querySelector('[data-log-page="next"]').disabled = state.page >= state.pages;
}

function logSoon() {
  clearTimeout(state.timer);
  state.timer = setTimeout(loadLog, LOG_DELAY);
}

statusFilter.addEventListener("change", () => {
  state.page = 1;
  const query = statusFilter.value ? `?status=${encodeURIComponent(statusFilter.value)}` : "";
  exportLink.href = `${data.export_url}${query}`;
  loadLog();
});
for (const button of pager.querySelectorAll("[data-log-page]")) {
  button.addEventListener("click", () => {
    state.page = Math.min(state.pages, Math.max(1, state.page + (button.dataset.logPage === "next" ? 1 : -1)));
    loadLog();
  });
}
log.querySelector("[data-log-retry]").addEventListener("click", loadLog);
loadLog();

// --- cancel and delete wait for a confirmation -----------------------------------------------------------------------

const dialog = document.getElementById("confirm-dialog");
let confirming = null;
for (const form of root.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    confirming = form;
    dialog.querySelector("#confirm-text").textContent = form.dataset.confirm;
    dialog.querySelector("[data-dialog-confirm]").textContent = form.dataset.confirmButton;
    dialog.showModal();
  });
}
dialog.querySelector("[data-dialog-close]").addEventListener("click", () => dialog.close());
dialog.querySelector("[data-dialog-confirm]").addEventListener("click", () => {
  dialog.close();
  confirming?.submit(); // submit() skips the submit event: no second dialog
});
