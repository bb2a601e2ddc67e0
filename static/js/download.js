// Download buttons: <button data-download="ID" data-filename="NAME"> saves the value (or the text) of the element ID
// as a text file. The buttons come hidden and show once this module has wired them.
for (const button of document.querySelectorAll("button[data-download]")) {
  button.hidden = false;
  button.addEventListener("click", () => {
    const source = document.getElementById(button.dataset.download);
    const text = "value" in source ? source.value : source.textContent;
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = button.dataset.filename || "download.txt";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}
