// WhatsApp Flows pages: a form with data-confirm asks before it is sent (publish, deprecate); the status and Meta's
// last health alert of the flows shown follow Meta's `flows` webhook (`whatsapp_flow.updated` on the organization's
// live socket): the parts marked data-flow-live are drawn again as the server shows them now, in the reader's words.
import { LiveSocket } from "./live.js";

// Delegated: a part drawn again keeps asking.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

const page = document.querySelector("[data-ws]");
const bar = document.getElementById("connection-bar");

/** The parts of these flows (every flow shown: ids null) as the server shows them now, without leaving the page. */
async function redraw(ids = null) {
  const shown = [...new Set([...document.querySelectorAll("[data-flow-live]")].map((part) => part.dataset.flowLive))];
  const wanted = ids === null ? shown : ids.map(String).filter((id) => shown.includes(id));
  if (!wanted.length) return;
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of wanted) {
    const now = fresh.querySelectorAll(`[data-flow-live="${id}"]`);
    document.querySelectorAll(`[data-flow-live="${id}"]`).forEach((part, index) => {
      if (now[index]) part.replaceWith(now[index]);
    });
  }
}

if (page) {
  const live = new LiveSocket(page.dataset.ws, {
    event(type, data) {
      if (type === "whatsapp_flow.updated") redraw((data.flows || []).map((flow) => flow.id));
    },
    reply() {},
    hello({ first }) {
      if (!first) redraw(); // back after a break: what changed meanwhile
    },
    gap: () => redraw(),
    state(state) {
      bar.hidden = state !== "down";
    },
    ended() {
      bar.hidden = true;
    },
  }, { events: ["whatsapp_flow.updated"] });
  live.connect();
}
