// WhatsApp Flows pages: a form with data-confirm asks before it is sent (publish, deprecate).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
