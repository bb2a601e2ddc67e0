// A destructive form's button waits until what it destroys is typed: <form data-confirm-form> with a `confirm`
// field, and the accepted values in <script type="application/json" id="delete-confirm">.

const accepted = document.getElementById("delete-confirm");
for (const form of document.querySelectorAll("form[data-confirm-form]")) {
  const values = JSON.parse(accepted.textContent);
  const input = form.elements.confirm;
  const button = form.querySelector("button[type=submit]");
  const update = () => {
    button.disabled = !values.includes(input.value.trim());
  };
  input.addEventListener("input", update);
  update();
}
