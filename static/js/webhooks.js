// A webhook's page: its delivery log reloads itself when deliveries move. The live socket pushes `webhook.deliveries`
// with the ids of the endpoints whose log changed (at most once a second each); this endpoint's log is then fetched
// again as the server renders it (live-fragment.js).
import { liveFragment } from "./live-fragment.js";

const root = document.getElementById("webhook-log");
const body = document.getElementById("webhook-log-body");

if (root && body) {
  const endpoint = Number(root.dataset.endpoint);
  liveFragment({
    root,
    body,
    events: ["webhook.deliveries"],
    matches: (data) => (data.endpoint_ids || []).includes(endpoint),
  });
}
