// A webhook's page: its delivery log reloads itself when deliveries move. The live socket (live.js) pushes
// `webhook.deliveries` with the ids of the endpoints whose log changed (at most once a second each); the log is then
// fetched again as the server renders it (the same filters and page), at once and once more a moment later (what
// changed within that second). A new connection, or missed pushes, reload it too. Without the socket, the Refresh
// button still works.
import { LiveSocket } from "./live.js";

const root = document.getElementById("webhook-log");
const body = document.getElementById("webhook-log-body");
const AGAIN_AFTER_MS = 1500;

let inFlight = null;
let again = null;

async function reload() {
  if (inFlight) return inFlight;
  root.dataset.loading = "";
  inFlight = (async () => {
    try {
      const response = await fetch(`${root.dataset.logUrl}${window.location.search}`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (response.ok) body.innerHTML = await response.text(); // the server's own template: escaped, no script
    } catch {
      // Offline: the next push or connection reloads it.
    } finally {
      delete root.dataset.loading;
      inFlight = null;
    }
  })();
  return inFlight;
}

function changed() {
  reload();
  clearTimeout(again);
  again = setTimeout(reload, AGAIN_AFTER_MS);
}

if (root && body) {
  const endpoint = Number(root.dataset.endpoint);
  const bar = document.getElementById("connection-bar");
  const live = new LiveSocket(
    root.dataset.ws,
    {
      event: (type, data) => {
        if ((data.endpoint_ids || []).includes(endpoint)) changed();
      },
      async hello() {
        await reload(); // what moved between the page's rendering and the connection
        root.dataset.live = "open";
      },
      gap: () => reload(),
      state(state) {
        if (state !== "open") root.dataset.live = state;
        if (bar) bar.hidden = state !== "down";
      },
      ended() {
        root.dataset.live = "ended";
        if (bar) bar.hidden = true;
      },
    },
    { events: ["webhook.deliveries"] },
  );
  live.connect();
}
