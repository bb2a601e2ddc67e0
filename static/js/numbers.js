// Number settings pages: copy buttons (webhook URL, verify token), the "Replace" action of stored secrets, and the
// delete button enabled once the number's name is typed (the server checks it too).

const status = document.getElementById("copy-status");

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    return document.execCommand("copy");
  }
}

for (const button of document.querySelectorAll("[data-copy]")) {
  const label = button.innerHTML;
  let restore = null;
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    const copied = await copyText(input);
    const text = copied ? button.dataset.copiedLabel : button.dataset.failedLabel;
    button.textContent = text;
    if (status) status.textContent = text;
    if (!copied) input.select();
    clearTimeout(restore);
    restore = setTimeout(() => {
      button.innerHTML = label;
    }, 2000);
  });
}

for (const button of document.querySelectorAll("[data-replace]")) {
  const panel = document.getElementById(button.getAttribute("aria-controls"));
  const input = panel.querySelector("input");
  const replaceLabel = button.textContent;
  const show = (open) => {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? button.dataset.cancelLabel : replaceLabel;
  };
  if (!panel.hidden) button.textContent = button.dataset.cancelLabel;
  button.addEventListener("click", () => {
    const open = panel.hidden;
    if (!open) input.value = "";
    show(open);
    if (open) input.focus();
  });
}

for (const button of document.querySelectorAll("[data-confirm-delete]")) {
  const input = button.form.querySelector("[data-expected]");
  const update = () => {
    button.disabled = input.value.trim() !== input.dataset.expected;
  };
  input.addEventListener("input", update);
  update();
}
