// A WAHA number's session page: its status from the numbers API, polled every few seconds (with backoff on
// errors, paused while the tab is hidden) while the session starts or waits for its QR code; the QR image fetched
// as a blob; start, stop, log out and the pairing code. Polling ends once the phone is linked (WORKING).
import { api, ApiError } from "./app.js";

const root = document.getElementById("session");
const urls = root.dataset;
const labels = JSON.parse(document.getElementById("session-labels").textContent);
const text = document.getElementById("session-text").dataset;
const $ = (id) => document.getElementById(id);

const POLL_MS = 3000;
const MAX_DELAY_MS = 30000;
const POLLING = new Set(["STARTING", "SCAN_QR_CODE"]);
const BADGES = { WORKING: "badge-accent", STARTING: "badge-warning", SCAN_QR_CODE: "badge-warning", FAILED: "badge-danger" };

let current = null; // the last status the API gave; null until the first answer
let delay = POLL_MS;
let timer = null;
let qrObjectUrl = null;
let busy = false; // a poll is in flight

function showError(error) {
  const box = $("session-error");
  if (error === null) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = error instanceof ApiError && error.body?.detail ? error.body.detail : text.unreachable;
  box.hidden = false;
}

function setQr(blob) {
  const previous = qrObjectUrl;
  qrObjectUrl = blob ? URL.createObjectURL(blob) : null;
  const image = $("qr-image");
  if (qrObjectUrl) image.src = qrObjectUrl;
  else image.removeAttribute("src");
  image.hidden = !qrObjectUrl;
  $("qr-waiting").hidden = Boolean(qrObjectUrl);
  if (previous) URL.revokeObjectURL(previous);
}

function render(session) {
  current = session.status;
  const badge = $("session-status");
  const label = labels[current] ?? current;
  if (badge.textContent !== label) badge.textContent = label; // the live region speaks only when it changes
  badge.className = `badge ${BADGES[current] ?? ""}`.trim();
  const phone = session.me?.id?.split("@")[0].split(":")[0];
  $("session-me").hidden = !(current === "WORKING" && phone);
  $("session-me-phone").textContent = phone ? `+${phone}` : "";
  $("session-me-name").textContent = session.me?.pushName ? `(${session.me.pushName})` : "";
  $("session-loading").hidden = true;
  $("panel-stopped").hidden = !(current === "STOPPED" || current === "FAILED");
  $("panel-link").hidden = !POLLING.has(current);
  $("panel-working").hidden = current !== "WORKING";
  $("session-stop").hidden = current === "STOPPED";
  $("session-logout").hidden = !(current === "WORKING" || current === "FAILED" || current === "SCAN_QR_CODE");
  if (current !== "SCAN_QR_CODE") setQr(null);
  if (!POLLING.has(current)) $("pairing-result").hidden = true;
}

async function fetchQr() {
  const response = await fetch(urls.qrUrl, {
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "image/png, application/json" },
  });
  if (response.status === 409) return; // no longer waiting for a scan: the next status says what it is
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  setQr(await response.blob());
}

function needsPolling() {
  return current === null || POLLING.has(current);
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  if (needsPolling() && !document.hidden) timer = setTimeout(poll, delay);
}

async function poll() {
  if (busy) return;
  busy = true;
  try {
    render(await api("GET", urls.sessionUrl));
    if (current === "SCAN_QR_CODE") await fetchQr();
    showError(null);
    delay = POLL_MS;
  } catch (error) {
    showError(error);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  } finally {
    busy = false;
  }
  schedule();
}

async function act(button, url) {
  button.disabled = true;
  try {
    render(await api("POST", url));
    showError(null);
    delay = POLL_MS;
    if (current === "SCAN_QR_CODE") await fetchQr();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
  schedule();
}

$("session-start").addEventListener("click", (event) => act(event.currentTarget, urls.startUrl));
$("session-stop").addEventListener("click", (event) => act(event.currentTarget, urls.stopUrl));

const logoutDialog = $("logout-dialog");
$("session-logout").addEventListener("click", () => logoutDialog.showModal());
logoutDialog.addEventListener("close", () => {
  if (logoutDialog.returnValue === "logout") act($("session-logout"), urls.logoutUrl);
});

$("pairing-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const input = $("pairing-phone");
  const fieldError = $("pairing-phone-error");
  const submit = form.querySelector("button[type=submit]");
  fieldError.hidden = true;
  input.removeAttribute("aria-invalid");
  submit.disabled = true;
  try {
    const { code } = await api("POST", urls.pairingUrl, { phone_number: input.value });
    $("pairing-code").textContent = code;
    $("pairing-result").hidden = false;
    showError(null);
  } catch (error) {
    const message = error instanceof ApiError ? error.body?.errors?.phone_number?.[0] : null;
    if (message) {
      fieldError.textContent = message;
      fieldError.hidden = false;
      input.setAttribute("aria-invalid", "true");
    } else {
      showError(error);
    }
  } finally {
    submit.disabled = false;
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && needsPolling() && timer === null) poll();
});

poll();
