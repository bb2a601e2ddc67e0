// The campaigns list: the status filter applied when chosen, and each row's status, counters and progress moving
// with the campaign.updated pushes.
import { api } from "./app.js";
import { showCampaign, watchCampaigns } from "./campaigns-live.js";

const root = document.getElementById("campaigns");
const labels = JSON.parse(document.getElementById("campaigns-live").textContent);

const filters = root.querySelector("form[data-filters]");
if (filters) {
  const status = filters.elements.status;
  status.addEventListener("change", () => {
    status.disabled = !status.value; // "all statuses" stays out of the address
    filters.submit();
  });
  window.addEventListener("pageshow", () => {
    status.disabled = false;
  });
}

function show(campaigns) {
  for (const campaign of campaigns) {
    const row = root.querySelector(`tr[data-campaign="${campaign.id}"]`);
    if (row) showCampaign(row, campaign, labels);
  }
}

if (root.querySelector("tr[data-campaign]")) {
  watchCampaigns(root, {
    updated: show,
    async reload() {
      // The page of the list shown, as the API lists it (same order, same page size).
      const query = new URLSearchParams(Object.entries(labels.query).filter(([, value]) => value !== ""));
      try {
        show((await api("GET", `${labels.api_url}?${query}`)).results);
      } catch {
        // The page stays as it was; the next push or reconnection tries again.
      }
    },
  });
}
