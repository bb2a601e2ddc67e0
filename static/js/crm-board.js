// The pipeline board: a column per stage with its deals and totals (count, value per currency), from the deals
// API. A card moves by HTML5 drag and drop or by its "Move to" select (the keyboard way); both PATCH the deal's
// stage. A move to a "lost" stage asks for the reason in a dialog. Refreshed on `deal.updated` pushes.
import { api } from "./app.js";
import { LiveSocket } from "./live.js";

const root = document.getElementById("crm-board");
const pipeline = JSON.parse(document.getElementById("crm-pipeline").textContent);
const strings = Object.fromEntries(
  [...document.getElementById("crm-strings").content.querySelectorAll("[data-key]")].map((el) => [el.dataset.key, el.textContent]),
);
const board = root.querySelector("[data-board]");
const errorBox = root.querySelector("[data-error]");
const PAGE_SIZE = 100;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function showError(error) {
  errorBox.textContent = error ? error.message || String(error) : "";
  errorBox.hidden = !error;
}

const lostDialog = document.getElementById("crm-lost");
const lostReason = document.getElementById("crm-lost-reason");

// The reason a deal was lost, asked in a dialog: resolves to the text, or null when cancelled (Esc or Cancel).
function askLostReason() {
  lostReason.value = "";
  lostDialog.returnValue = "";
  lostDialog.showModal();
  return new Promise((resolve) => {
    lostDialog.addEventListener(
      "close",
      () => resolve(lostDialog.returnValue === "lost" && lostReason.value.trim() ? lostReason.value.trim() : null),
      { once: true },
    );
  });
}

async function move(dealId, stageId) {
  const stage = pipeline.stages.find((s) => s.id === stageId);
  const body = { stage_id: stageId };
  if (stage.outcome === "lost") {
    const reason = await askLostReason();
    if (!reason) return reload();
    body.lost_reason = reason;
  }
  try {
    await api("PATCH", `/api/v1/deals/${dealId}`, body);
    showError(null);
  } catch (error) {
    showError(error);
  }
  await reload();
}

function card(deal) {
  const select = el("select", { "aria-label": `${strings.move}: ${deal.title}`, "data-move": String(deal.id) });
  for (const stage of pipeline.stages) {
    const option = el("option", { value: String(stage.id), text: stage.name });
    if (stage.id === deal.stage_id) option.selected = true;
    select.append(option);
  }
  select.addEventListener("change", () => move(deal.id, Number(select.value)));
  const link = el("a", { href: `/deals/${deal.id}/`, dir: "auto", text: deal.title });
  const item = el(
    "li",
    { class: "crm-card", draggable: "true", "data-deal": String(deal.id) },
    link,
    el("span", { class: "crm-card-value ltr num", text: `${deal.value} ${deal.currency}` }),
    el("label", { class: "crm-move" }, el("span", { class: "muted", text: strings.move }), select),
  );
  if (deal.contact) item.insertBefore(el("span", { class: "muted", dir: "auto", text: deal.contact.name || deal.contact.phone }), link.nextSibling);
  item.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", String(deal.id));
    event.dataTransfer.effectAllowed = "move";
  });
  return item;
}

function column(stage, deals, total) {
  const list = el("ul", { class: "crm-cards" });
  for (const deal of deals) list.append(card(deal));
  if (!deals.length) list.append(el("li", { class: "muted crm-empty", text: strings.empty }));
  const sums = (total?.values || []).map((v) => `${v.value} ${v.currency}`).join(" · ");
  const section = el(
    "section",
    { class: "crm-column", "data-stage": String(stage.id), "aria-label": stage.name },
    el("h2", { dir: "auto" }, el("span", { text: stage.name }), el("span", { class: "badge", "data-count": "", text: String(total?.count || 0) })),
    el("p", { class: "muted ltr num", "data-total": "", text: sums }),
    list,
  );
  section.addEventListener("dragover", (event) => {
    event.preventDefault();
    section.classList.add("is-over");
  });
  section.addEventListener("dragleave", () => section.classList.remove("is-over"));
  section.addEventListener("drop", (event) => {
    event.preventDefault();
    section.classList.remove("is-over");
    const dealId = Number(event.dataTransfer.getData("text/plain"));
    if (dealId) move(dealId, stage.id);
  });
  return section;
}

async function reload() {
  const page = await api("GET", `/api/v1/deals?pipeline_id=${pipeline.id}&page_size=${PAGE_SIZE}`);
  const totals = new Map(page.totals.map((t) => [t.stage_id, t]));
  board.replaceChildren(
    ...pipeline.stages.map((stage) => column(stage, page.results.filter((d) => d.stage_id === stage.id), totals.get(stage.id))),
  );
  root.dataset.loaded = "true";
}

root.querySelector("[data-new-deal]").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const data = Object.fromEntries(new FormData(form));
  try {
    await api("POST", "/api/v1/deals", { ...data, pipeline_id: pipeline.id });
    form.reset();
    showError(null);
  } catch (error) {
    showError(error);
  }
  await reload();
});

new LiveSocket(
  root.dataset.ws,
  {
    event: () => reload(),
    reply() {},
    hello({ first }) {
      if (!first) reload(); // back after a break: what changed meanwhile
    },
    gap: () => reload(),
    state() {},
    ended() {},
  },
  { events: ["deal.updated"] },
).connect();
reload();
