// Settings > Integrations: "Test now" posts to the card's test URL (settings/integrations/{key}/test) and redraws
// the card from the answer (state, last success, last error) without reloading the page.
import { api } from "./app.js";

const root = document.getElementById("integrations");
const strings = JSON.parse(document.getElementById("integration-strings")?.textContent || "{}");
const lang = document.documentElement.lang || "en";

function timeNode(iso) {
  const date = new Date(iso);
  const node = document.createElement("time");
  node.dateTime = iso;
  node.title = new Intl.DateTimeFormat(lang, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: root.dataset.timeZone || "UTC",
  }).format(date);
  const seconds = Math.round((Date.now() - date) / 1000);
  if (seconds < 60) {
    node.textContent = strings.just_now;
  } else {
    const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    node.textContent =
      seconds < 3600
        ? relative.format(-Math.floor(seconds / 60), "minute")
        : seconds < 86400
          ? relative.format(-Math.floor(seconds / 3600), "hour")
          : relative.format(-Math.floor(seconds / 86400), "day");
  }
  return node;
}

function setTime(cell, iso) {
  if (!iso) return;
  cell.replaceChildren(timeNode(iso));
}

function redraw(card, integration) {
  card.dataset.state = integration.state;
  card.querySelector('[data-role="state"]').textContent = integration.state_label;
  setTime(card.querySelector('[data-role="last-success"]'), integration.last_success_at);
  setTime(card.querySelector('[data-role="last-error-at"]'), integration.last_error_at);
  const error = card.querySelector('[data-role="error"]');
  error.textContent = integration.last_error;
  error.hidden = !integration.last_error;
  for (const fact of integration.facts) {
    for (const row of card.querySelectorAll(".integration-facts > div")) {
      if (row.querySelector("dt").textContent === fact.label) row.querySelector("bdi").textContent = fact.value;
    }
  }
}

function recount() {
  for (const count of root.querySelectorAll("[data-count]")) {
    count.textContent = root.querySelectorAll(`.integration-card[data-state="${count.dataset.count}"]`).length;
  }
}

async function test(button) {
  const card = button.closest(".integration-card");
  const status = card.querySelector('[data-role="status"]');
  button.disabled = true;
  button.textContent = strings.testing;
  status.textContent = "";
  card.setAttribute("aria-busy", "true");
  try {
    redraw(card, await api("POST", button.dataset.testUrl));
    recount();
  } catch (error) {
    status.textContent = error.body?.detail || strings.failed;
  } finally {
    card.removeAttribute("aria-busy");
    button.disabled = false;
    button.textContent = strings.test_now;
  }
}

if (root) {
  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-test-url]");
    if (button) test(button);
  });
}
