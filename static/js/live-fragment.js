// A part of a page the server renders that reloads itself when the live socket (live.js) says it changed: on a push
// of one of `events` that `matches` (data => bool), at once and once more a moment later (what changed meanwhile);
// on each connection (what moved between the page's rendering and the socket) and after missed pushes. The fragment
// comes from `root.dataset.fragmentUrl` with the page's own query (its filters and page). Without the socket, the
// page's Refresh link still works.
import { LiveSocket } from "./live.js";

const AGAIN_AFTER_MS = 1500;

export function liveFragment({ root, body, events, matches = () => true }) {
  let inFlight = null;
  let again = null;

  async function reload() {
    if (inFlight) return inFlight;
    root.dataset.loading = "";
    inFlight = (async () => {
      try {
        const response = await fetch(`${root.dataset.fragmentUrl}${window.location.search}`, {
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

  const bar = document.getElementById("connection-bar");
  const live = new LiveSocket(
    root.dataset.ws,
    {
      event: (type, data) => {
        if (matches(data)) changed();
      },
      async hello() {
        await reload();
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
    { events },
  );
  live.connect();
}
