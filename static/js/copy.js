// Copy buttons: <button data-copy="ID" data-copy-status="STATUS_ID" data-copied="…" data-copy-failed="…"> copies the
// value (or the text) of the element ID to the clipboard and says so in the element STATUS_ID (a live region).
// The buttons come hidden and show once this module has wired them: no dead button before (or without) it.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus);
    try {
      await navigator.clipboard.writeText("value" in source ? source.value : source.textContent);
      status.textContent = button.dataset.copied;
    } catch {
      // No clipboard here (a plain-HTTP origin) or access refused: select the text for the keyboard's copy.
      source.focus();
      source.select?.();
      status.textContent = button.dataset.copyFailed;
    }
  });
}
