// A number's settings page: the "Replace" action of its stored secrets (an empty input shown; blank keeps the
// secret), and the delete button enabled once the number's name is typed (the server checks it too).

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
