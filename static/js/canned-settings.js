// Settings > Canned responses, the form: a placeholder's button inserts it in the text where the cursor is.
const text = document.getElementById("id_text");

for (const button of document.querySelectorAll("[data-insert]")) {
  button.addEventListener("click", () => {
    const value = button.dataset.insert;
    const start = text.selectionStart ?? text.value.length;
    const end = text.selectionEnd ?? start;
    text.setRangeText(value, start, end, "end");
    text.focus();
    text.dispatchEvent(new Event("input", { bubbles: true }));
  });
}
