// The calls page: a filter applies as soon as it is chosen; empty filters stay out of the address.
const filters = document.querySelector("form[data-filters]");
if (filters) {
  for (const field of filters.querySelectorAll("select")) field.addEventListener("change", () => filters.requestSubmit());
  filters.addEventListener("submit", () => {
    for (const field of filters.elements) {
      if (field.name && !field.value) field.disabled = true;
    }
  });
}
