// The inbox's WhatsApp Flow dialog: the published flows of the conversation's number's account, a message and a
// button label, sent as POST conversations/{id}/messages {type: "flow", flow: {flow_id, body, cta}}. The API's
// refusals (window closed, a flow not sendable from this number) show in the dialog.
import { api } from "./app.js";
import { t } from "./inbox-format.js";

const $ = (id) => document.getElementById(id);

export class FlowPicker {
  /** conversation(): the open conversation; sent(message): the flow message stored (202). */
  constructor({ conversation, sent }) {
    this.conversation = conversation;
    this.sent = sent;
    this.dialog = $("flow-dialog");
    this.wabas = JSON.parse($("inbox-flow-wabas")?.textContent || "{}");
    if (!this.dialog) return;
    for (const button of this.dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => this.dialog.close());
    $("flow-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  open() {
    const conversation = this.conversation();
    if (!conversation || !this.dialog) return;
    const waba = this.wabas[String(conversation.number_id)] || "";
    const select = $("flow-id");
    let first = null;
    for (const option of select.options) {
      option.hidden = option.disabled = option.dataset.waba !== waba;
      if (!option.hidden && first === null) first = option;
    }
    select.value = first ? first.value : "";
    $("flow-none").hidden = Boolean(first);
    $("flow-send").disabled = !first;
    $("flow-error").hidden = true;
    this.dialog.showModal();
  }

  async send() {
    const conversation = this.conversation();
    const flowId = Number($("flow-id").value);
    if (!conversation || !flowId) return;
    const button = $("flow-send");
    button.disabled = true;
    $("flow-error").hidden = true;
    try {
      const body = { type: "flow", flow: { flow_id: flowId, body: $("flow-body").value, cta: $("flow-cta").value } };
      const message = await api("POST", `/api/v1/conversations/${conversation.id}/messages`, body);
      this.dialog.close();
      this.sent(message);
    } catch (error) {
      const errors = error.body?.errors ? Object.values(error.body.errors).flat(Infinity).filter((item) => typeof item === "string") : [];
      $("flow-error").textContent = errors.join(" ") || error.body?.detail || t("error");
      $("flow-error").hidden = false;
    } finally {
      button.disabled = false;
    }
  }
}
