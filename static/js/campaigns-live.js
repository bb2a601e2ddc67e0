// The campaigns pages' live part: `campaign.updated` pushes over the live socket (live.js), and a campaign's status,
// counters and progress bar drawn as the server draws them (campaigns/_progress.html, campaigns.views.common.progress).
import { LiveSocket } from "./live.js";

const PARTS = ["read", "delivered", "sent", "failed", "skipped"];

/** A gettext text with Python's named placeholders (`%(name)s`, `%%`) filled in. */
export function interpolate(text, values) {
  return text.replace(/%\((\w+)\)[sd]/g, (_, name) => String(values[name] ?? "")).replace(/%%/g, "%");
}

/** The progress bar of a campaign (the API's shape): its parts in percent of the total, and the share done. */
export function progressOf(campaign) {
  const total = campaign.total || 1;
  const counts = {
    read: campaign.read,
    delivered: campaign.delivered - campaign.read,
    sent: campaign.sent - campaign.delivered,
    failed: campaign.failed,
    skipped: campaign.skipped,
  };
  let start = 0;
  const parts = PARTS.map((name) => {
    const width = (Math.max(counts[name], 0) * 100) / total;
    const part = { name, x: start, width };
    start += width;
    return part;
  });
  const done = campaign.sent + campaign.failed + campaign.skipped;
  return { percent: Math.min(100, Math.floor((done * 100) / total)), parts };
}

/**
 * Shows a campaign (the API's shape) in `root`: the [data-status] badge, every [data-counter=<name>], the
 * [data-if-counter] parts shown only when their counter is not 0, and the progress bar. `labels`: the statuses'
 * words and badges, the "% done" text.
 */
export function showCampaign(root, campaign, labels) {
  const badge = root.querySelector("[data-status]");
  if (badge) {
    badge.textContent = labels.statuses[campaign.status] ?? campaign.status;
    badge.className = `badge ${labels.badges[campaign.status] ?? ""}`.trim();
  }
  for (const element of root.querySelectorAll("[data-counter]")) {
    const value = campaign[element.dataset.counter] ?? 0;
    element.textContent = String(value);
    element.toggleAttribute("data-nonzero", value > 0);
  }
  for (const element of root.querySelectorAll("[data-if-counter]")) element.hidden = !campaign[element.dataset.ifCounter];
  const { percent, parts } = progressOf(campaign);
  const bar = root.querySelector("[data-progress-bar]");
  if (bar) {
    bar.setAttribute("aria-valuenow", String(percent));
    for (const part of parts) {
      const rect = bar.querySelector(`[data-part="${part.name}"]`);
      rect?.setAttribute("x", part.x.toFixed(3));
      rect?.setAttribute("width", part.width.toFixed(3));
    }
  }
  const text = root.querySelector("[data-percent]");
  if (text) text.textContent = interpolate(labels.percent, { percent });
}

/**
 * Listens for campaign.updated on the live socket: `updated(campaigns)` for each push; `reload()` on each connection
 * (what happened before it) and when pushes were lost. `root.dataset.live` says whether the socket is open.
 */
export function watchCampaigns(root, { updated, reload }) {
  const bar = document.getElementById("connection-bar");
  const live = new LiveSocket(
    root.dataset.ws,
    {
      event: (type, data) => updated(data.campaigns || []),
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
    { events: ["campaign.updated"] },
  );
  live.connect();
  return live;
}
