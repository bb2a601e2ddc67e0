// The inbox's contact panel: the open conversation's contact's business and open deals (customers/{id}/crm), and a
// form that creates a deal from the conversation (POST deals/ with its conversation_id: the contact and business
// come along). The inbox announces the conversation it shows with the `inbox:conversation` event.
import { api } from "./app.js";

const box = document.getElementById("crm-panel");
const $ = (id) => document.getElementById(id);
let conversation = null;
let request = 0;

const urlOf = (template, id) => template.replace("/0/", `/${id}/`);

function render(state) {
  const business = $("crm-panel-business");
  if (state.business) {
    const link = document.createElement("a");
    link.href = urlOf(box.dataset.businessUrl, state.business.id);
    link.dir = "auto";
    link.textContent = state.business.name;
    business.replaceChildren(link);
  } else {
    const none = document.createElement("span");
    none.className = "muted";
    none.textContent = business.dataset.none;
    business.replaceChildren(none);
  }
  $("crm-panel-deals").replaceChildren(
    ...state.open_deals.map((deal) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = urlOf(box.dataset.dealUrl, deal.id);
      link.dir = "auto";
      link.textContent = deal.title;
      const value = document.createElement("span");
      value.className = "muted ltr num";
      value.textContent = `${deal.value} ${deal.currency}`;
      const stage = document.createElement("span");
      stage.className = "badge";
      stage.dir = "auto";
      stage.textContent = deal.stage_name;
      item.append(link, value, stage);
      item.dataset.deal = String(deal.id);
      return item;
    }),
  );
  $("crm-panel-no-deals").hidden = state.open_deals.length > 0;
  box.hidden = false;
}

function showError(error) {
  $("crm-panel-error").textContent = error ? error.message || String(error) : "";
  $("crm-panel-error").hidden = !error;
}

async function show(shown) {
  const mine = ++request;
  conversation = shown;
  box.hidden = true;
  showError(null);
  if (!conversation || !conversation.contact) return;
  try {
    const state = await api("GET", `/api/v1/customers/${conversation.contact.id}/crm`);
    if (mine === request) render(state);
  } catch {
    // Nothing shown: the conversation's other panels work on.
  }
}

if (box) {
  document.addEventListener("inbox:conversation", (event) => show(event.detail));
  $("crm-panel-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const shown = conversation;
    try {
      await api("POST", "/api/v1/deals", { ...Object.fromEntries(new FormData(form)), conversation_id: shown.id });
      form.reset();
      $("crm-panel-new").open = false;
      if (shown === conversation) await show(shown);
    } catch (error) {
      showError(error);
    }
  });
}
