// Account > Notifications: asking the browser for permission to show pop-ups (only on a click: browsers refuse a
// request no person made), and saying where it stands.

const box = document.querySelector("[data-browser-permission]");
if (box && "Notification" in window) {
  const state = box.querySelector("[data-browser-state]");
  const button = box.querySelector("[data-browser-allow]");
  const show = () => {
    button.hidden = Notification.permission !== "default";
    state.textContent = Notification.permission === "denied" ? box.dataset.denied : Notification.permission === "granted" ? box.dataset.granted : "";
  };
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    show();
  });
  box.hidden = false;
  show();
}
