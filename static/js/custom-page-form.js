// Settings > Custom pages, the form: shows the text field for a Markdown page and the address field for an external
// one, following the "Content" choice (both stay in the form: the server ignores the other kind's field).
const form = document.querySelector(".custom-page-form");
if (form) {
  const sync = () => {
    const kind = form.querySelector('input[name="kind"]:checked')?.value ?? "markdown";
    for (const block of form.querySelectorAll("[data-kind]")) block.hidden = block.dataset.kind !== kind;
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind") sync();
  });
  sync();
}
