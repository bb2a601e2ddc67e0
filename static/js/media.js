// The media library: filters apply as soon as they are chosen (empty ones stay out of the address); "Copy link"
// asks the API for a signed, expiring link (POST media/{id}/copy) and copies it, saying so in a live region.
import { api } from "./app.js";

const filters = document.querySelector("form[data-filters]");
if (filters) {
  for (const field of filters.querySelectorAll("select")) field.addEventListener("change", () => filters.requestSubmit());
  filters.addEventListener("submit", () => {
    for (const field of filters.elements) {
      if (field.name && !field.value) field.disabled = true;
    }
  });
}

const grid = document.querySelector(".media-grid");
const status = document.getElementById("media-status");
if (grid) {
  for (const button of grid.querySelectorAll("button[data-share]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const link = await api("POST", `/api/v1/media/${button.dataset.share}/copy`);
        button.dataset.url = link.url;
        try {
          await navigator.clipboard.writeText(link.url);
        } catch {
          // No clipboard (plain HTTP): show the link to copy by hand.
          window.prompt(grid.dataset.linkLabel, link.url);
        }
        status.textContent = grid.dataset.copied;
      } catch {
        status.textContent = grid.dataset.copyFailed;
      } finally {
        button.disabled = false;
      }
    });
  }
}
