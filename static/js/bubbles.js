// Message bubbles: one DOM builder per stored message type (messaging.models.Message.Type), from the API's message
// shape. User text is only ever set as text nodes (links are built as elements), never as HTML.
import { clock, el, fileSize, fullTime, icon, samePath, t } from "./inbox-format.js";

const URL_PATTERN = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/** Text with its web links as anchors (http and https only), as nodes. */
function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const raw = match[0].replace(TRAILING, "");
    const href = raw.startsWith("www.") ? `https://${raw}` : raw;
    let url;
    try {
      url = new URL(href);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    fragment.append(text.slice(last, match.index));
    fragment.append(el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow", dir: "ltr", text: raw }));
    last = match.index + raw.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

/** One line saying what a message is: its text, else its kind (quotes, notifications). */
export function previewOf(message) {
  const kind = message.type === "interactive" ? interactiveKind(message) : message.type;
  if (message.type === "template") return `${t("template")}: ${message.template?.name ?? ""}`;
  if (message.type === "reaction") return t("reacted", { emoji: message.text });
  if (message.type === "button") return message.button?.text || message.text || t("button");
  return message.text || (kind in KIND_LABELS ? t(KIND_LABELS[kind]) : t("unsupported"));
}

const KIND_LABELS = {
  image: "image",
  sticker: "sticker",
  audio: "audio",
  video: "video",
  document: "document",
  location: "location",
  contacts: "contacts",
  interactive: "interactive",
  button_reply: "button",
  list_reply: "list_reply",
  unsupported: "unsupported",
};

function interactiveKind(message) {
  const kind = message.interactive?.type;
  return kind === "button_reply" || kind === "list_reply" ? kind : "interactive";
}

// --- content by type --------------------------------------------------------------------------------

function textBlock(text, className = "msg-text") {
  if (!text) return null;
  return el("p", { class: className, dir: "auto" }, linkify(text));
}

function mediaUnavailable(message, iconName) {
  const media = message.media;
  const failed = media?.status === "failed";
  return el(
    "div",
    { class: `media-placeholder media-${message.type}${failed ? " is-failed" : ""}` },
    icon(failed ? "alert" : iconName),
    el("span", { text: failed || !media ? t("media_failed") : t("media_pending") }),
  );
}

function mediaContent(message) {
  const media = message.media;
  const ready = media && media.status === "ready" && media.url;
  const caption = message.type === "sticker" || message.type === "audio" ? null : textBlock(message.text);
  const label = message.text || t(message.type);
  if (message.type === "image" || message.type === "sticker") {
    if (!ready) return [mediaUnavailable(message, "image"), caption];
    const src = samePath(media.url);
    const image = el("img", { src, alt: label, loading: "lazy", decoding: "async" });
    return [el("a", { class: `media-box media-${message.type}`, href: src, target: "_blank", rel: "noopener" }, image), caption];
  }
  if (message.type === "audio") {
    if (!ready) return [mediaUnavailable(message, "mic")];
    return [el("audio", { class: "media-audio", controls: true, preload: "none", src: samePath(media.url), "aria-label": t("audio") })];
  }
  if (message.type === "video") {
    if (!ready) return [mediaUnavailable(message, "video"), caption];
    const video = el("video", { controls: true, preload: "metadata", src: samePath(media.url), "aria-label": label });
    return [el("div", { class: "media-box media-video" }, video), caption];
  }
  // document
  const name = media?.filename || message.document?.filename || t("document");
  const details = [media?.size ? fileSize(media.size) : "", media?.mime_type || ""].filter(Boolean).join(" · ");
  const card = [icon("file", "doc-icon"), el("span", { class: "doc-text" }, el("span", { class: "doc-name", dir: "auto", text: name }), el("span", { class: "doc-details muted", dir: "ltr", text: details }))];
  const documentBlock = ready
    ? el("a", { class: "doc-card", href: samePath(media.url), download: name, title: t("download") }, ...card, icon("down"))
    : el("div", { class: "doc-card is-unavailable" }, ...card, el("span", { class: "muted", text: media?.status === "failed" || !media ? t("media_failed") : t("media_pending") }));
  return [documentBlock, caption];
}

function locationContent(message) {
  const location = message.location || {};
  const lat = Number(location.latitude);
  const lng = Number(location.longitude);
  const known = Number.isFinite(lat) && Number.isFinite(lng);
  const map = known ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}` : null;
  return [
    el(
      "div",
      { class: "location-card" },
      icon("pin", "location-icon"),
      el(
        "div",
        { class: "location-text" },
        el("strong", { dir: "auto", text: location.name || t("location") }),
        location.address ? el("span", { dir: "auto", text: location.address }) : null,
        known ? el("span", { class: "ltr muted num", text: `${lat.toFixed(5)}, ${lng.toFixed(5)}` }) : null,
        map ? el("a", { href: map, target: "_blank", rel: "noopener noreferrer", text: t("open_map") }) : null,
      ),
    ),
  ];
}

function contactsContent(message) {
  const cards = Array.isArray(message.contacts) ? message.contacts : [];
  if (!cards.length) return [textBlock(message.text) || el("p", { class: "msg-text", text: t("contacts") })];
  return cards.map((card) =>
    el(
      "div",
      { class: "contact-card" },
      el("span", { class: "avatar avatar-sm", "aria-hidden": "true" }, icon("user")),
      el(
        "div",
        { class: "contact-card-text" },
        el("strong", { dir: "auto", text: card.name?.formatted_name || t("contacts") }),
        card.org?.company ? el("span", { class: "muted", dir: "auto", text: card.org.company }) : null,
        ...(card.phones || []).map((phone) => el("a", { class: "ltr", href: `tel:${String(phone.phone).replace(/[^\d+]/g, "")}`, text: phone.phone })),
        ...(card.emails || []).map((email) => el("span", { class: "ltr", text: email.email })),
      ),
    ),
  );
}

function chip(text, extra = "") {
  return el("span", { class: `chip ${extra}`.trim(), dir: "auto", text });
}

function interactiveContent(message) {
  const interactive = message.interactive || {};
  if (interactive.type === "button_reply" || interactive.type === "list_reply") {
    const reply = interactive[interactive.type] || {};
    return [
      el("span", { class: "msg-label", text: t(interactive.type === "list_reply" ? "list_reply" : "button") }),
      el("p", { class: "msg-text reply-choice", dir: "auto" }, "↩ ", reply.title || message.text || ""),
      reply.description ? el("p", { class: "muted", dir: "auto", text: reply.description }) : null,
    ];
  }
  if (interactive.type === "nfm_reply") return flowReplyContent(message, interactive.nfm_reply || {});
  const action = interactive.action || {};
  const header = interactive.header?.type === "text" ? el("strong", { class: "msg-header", dir: "auto", text: interactive.header.text }) : null;
  const buttons = (action.buttons || []).map((button) => chip(button.reply?.title || ""));
  if (interactive.type === "flow" && action.parameters?.flow_cta) buttons.push(chip(`▤ ${action.parameters.flow_cta}`, "chip-list"));
  const rows = (action.sections || []).flatMap((section) => section.rows || []).map((row) => chip(row.title, "chip-row"));
  return [
    el("span", { class: "msg-label", text: t(interactive.type === "flow" ? "flow" : "interactive") }),
    header,
    textBlock(interactive.body?.text || message.text),
    interactive.footer?.text ? el("p", { class: "msg-footer muted", dir: "auto", text: interactive.footer.text }) : null,
    action.button ? el("div", { class: "chips" }, chip(`☰ ${action.button}`, "chip-list")) : null,
    buttons.length || rows.length ? el("div", { class: "chips" }, ...buttons, ...rows) : null,
  ];
}

// What a customer submitted in a WhatsApp Flow: its answers as "field: value" lines (by field name, the flow_token
// left out), never the raw JSON.
function flowAnswer(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value && typeof value === "object") return JSON.stringify(value);
  return value === null || value === undefined ? "" : String(value);
}

function flowReplyContent(message, reply) {
  let answers = {};
  try {
    const parsed = typeof reply.response_json === "string" ? JSON.parse(reply.response_json) : reply.response_json;
    if (parsed && typeof parsed === "object") answers = parsed;
  } catch {
    answers = {};
  }
  const keys = Object.keys(answers).filter((key) => key !== "flow_token").sort();
  const list = el("dl", { class: "flow-answers" });
  for (const key of keys) {
    list.append(el("dt", { dir: "auto", text: key }), el("dd", { dir: "auto", text: flowAnswer(answers[key]) }));
  }
  return [el("span", { class: "msg-label", text: t("flow_reply") }), keys.length ? list : textBlock(reply.body || message.text)];
}

function buttonContent(message) {
  return [
    el("span", { class: "msg-label", text: t("button") }),
    el("p", { class: "msg-text reply-choice", dir: "auto" }, "↩ ", message.button?.text || message.text || ""),
  ];
}

function parameterText(parameter) {
  const value = parameter[parameter.type];
  if (typeof value === "string") return value;
  if (value && typeof value === "object") return value.fallback_value || value.link || value.filename || value.id || parameter.type;
  return parameter.type;
}

function templateContent(message) {
  const template = message.template || {};
  const components = Array.isArray(template.components) ? template.components : [];
  const values = components
    .filter((component) => component.type !== "button")
    .flatMap((component) => component.parameters || [])
    .map((parameter) => el("li", { dir: "auto" }, parameterText(parameter)));
  const buttons = components
    .filter((component) => component.type === "button")
    .sort((a, b) => Number(a.index) - Number(b.index))
    .map((component) => {
      const value = (component.parameters || []).map(parameterText).join(" ");
      const mark = { quick_reply: "↩", url: "🔗", copy_code: "⧉" }[component.sub_type];
      return chip(mark ? `${mark} ${value}` : [component.sub_type, value].filter(Boolean).join(": "), "chip-button");
    });
  return [
    el(
      "div",
      { class: "template-head" },
      icon("file"),
      el("strong", { text: t("template") }),
      el("span", { class: "mono", dir: "ltr", text: template.name || "" }),
      template.language?.code ? el("span", { class: "badge", dir: "ltr", text: template.language.code }) : null,
    ),
    textBlock(message.text),
    values.length ? el("ol", { class: "template-values" }, ...values) : null,
    buttons.length ? el("div", { class: "chips" }, ...buttons) : null,
  ];
}

function contentOf(message) {
  switch (message.type) {
    case "text":
      return [textBlock(message.text)];
    case "image":
    case "sticker":
    case "audio":
    case "video":
    case "document":
      return mediaContent(message);
    case "location":
      return locationContent(message);
    case "contacts":
      return contactsContent(message);
    case "interactive":
      return interactiveContent(message);
    case "button":
      return buttonContent(message);
    case "template":
      return templateContent(message);
    default:
      return [el("p", { class: "msg-text msg-unsupported", text: t("unsupported") }), textBlock(message.text)];
  }
}

// --- time, ticks, quotes, reactions -----------------------------------------------------------------

const TICKS = { queued: "clock", sent: "check", delivered: "checks", read: "checks" };

function ticks(message) {
  if (message.status === "failed") {
    const reason = message.error_title ? t("failed_reason", { reason: message.error_title }) : t("failed_unknown");
    return el(
      "span",
      { class: "tick tick-failed", tabindex: "0", role: "img", "aria-label": reason, title: reason, dataset: { reason } },
      icon("alert"),
    );
  }
  const name = TICKS[message.status] || "clock";
  return el(
    "span",
    { class: `tick tick-${message.status}`, role: "img", "aria-label": t(`status_${message.status}`), title: t(`status_${message.status}`) },
    icon(name),
  );
}

function meta(message) {
  const date = new Date(message.timestamp);
  return el(
    "span",
    { class: "msg-meta" },
    el("time", { datetime: message.timestamp, title: fullTime(date), text: clock(date) }),
    message.direction === "outbound" ? ticks(message) : null,
  );
}

function quote(message, ctx) {
  const quoted = ctx.quoted(message.reply_to);
  const who = quoted ? (quoted.direction === "outbound" ? t("you").replace(/[:\s]+$/, "") : ctx.contactName) : "";
  return el(
    "a",
    { class: "msg-quote", href: quoted ? `#message-${quoted.id}` : null, dataset: quoted ? { target: quoted.id } : {} },
    who ? el("strong", { dir: "auto", text: who }) : null,
    el("span", { dir: "auto", text: quoted ? previewOf(quoted) : t("quoted") }),
  );
}

/** The reactions on a message: the latest emoji of each side, as a badge. */
function reactionBadge(reactions) {
  const emojis = reactions.map((reaction) => reaction.text).filter(Boolean);
  if (!emojis.length) return null;
  return el("span", { class: "reactions", role: "img", "aria-label": `${t("reaction")}: ${emojis.join(" ")}`, text: emojis.join("") });
}

/**
 * One message as a list item. `ctx`: { people (id -> name), showSender (the colleague's name above it), contactName,
 * quoted(reply_to) -> message or null, reactions(message) -> its reaction messages }.
 */
export function renderMessage(message, ctx) {
  const outbound = message.direction === "outbound";
  const classes = ["msg", outbound ? "msg-out" : "msg-in", `msg-type-${message.type}`];
  if (message.status === "failed" || message.send_error) classes.push("is-failed");
  const item = el("li", { class: classes.join(" "), id: message.id ? `message-${message.id}` : null, dataset: { id: message.id ?? "", client: message.client_id ?? "" } });
  const bubble = el("div", { class: "bubble" });
  if (ctx.showSender) {
    bubble.append(el("span", { class: "msg-sender", dir: "auto", text: ctx.people.get(message.sent_by) || message.sender_label || "" }));
  }
  if (message.reply_to) bubble.append(quote(message, ctx));
  bubble.append(...contentOf(message).filter(Boolean));
  bubble.append(meta(message));
  const badge = message.id ? reactionBadge(ctx.reactions(message)) : null;
  if (badge) bubble.append(badge);
  item.append(bubble);
  if (message.send_error) {
    item.append(
      el(
        "div",
        { class: "send-error", role: "alert" },
        el("span", { text: t("send_failed", { reason: message.send_error }) }),
        el("button", { type: "button", class: "link-button", dataset: { retry: message.client_id }, text: t("retry") }),
      ),
    );
  }
  return item;
}

/** A reaction whose message is not on the page: a small line of its own. */
export function renderLoneReaction(message) {
  const text = message.text ? t("reacted", { emoji: message.text }) : t("reaction_removed");
  return el(
    "li",
    { class: `msg msg-reaction ${message.direction === "outbound" ? "msg-out" : "msg-in"}`, id: `message-${message.id}`, dataset: { id: message.id } },
    el("span", { class: "reaction-line muted" }, text, " ", meta(message)),
  );
}
