// A template as the customer reads it (header, body, footer, buttons), each placeholder's value marked: on the
// new-campaign page as the values are chosen, and on a campaign's page.
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const MEDIA_ICONS = { IMAGE: "image", VIDEO: "video", DOCUMENT: "file", LOCATION: "pin" };

const component = (template, type) =>
  (template.components || []).find((part) => String(part.type || "").toUpperCase() === type);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `text` with its placeholders replaced by marked values (`valueOf(name)` -> {text, missing} or undefined). */
function filled(node, text, valueOf) {
  let last = 0;
  for (const match of (text || "").matchAll(PLACEHOLDER)) {
    node.append(text.slice(last, match.index));
    const value = valueOf(match[1]);
    const shown = value?.text || match[0];
    node.append(element("bdi", value?.missing || !value?.text ? "wa-value wa-value-missing" : "wa-value", shown));
    last = match.index + match[0].length;
  }
  node.append((text || "").slice(last));
  return node;
}

/**
 * What a placeholder shows for its value `spec` (a variable_mapping entry): a fixed value as it is; a contact's
 * field as its fallback, else the template's example, else the field's name in brackets. No value yet: the example,
 * marked as missing.
 */
export function shownValue(placeholder, spec, fieldLabels) {
  const example = placeholder.example || "";
  if (!spec) return { text: example, missing: true };
  if (spec.type === "static") {
    const value = spec.value;
    const text = value && typeof value === "object" ? value.fallback_value ?? value.link ?? JSON.stringify(value) : String(value ?? "");
    return text ? { text } : { text: example, missing: true };
  }
  if (spec.fallback) return { text: spec.fallback };
  if (example) return { text: example };
  const field = String(spec.value || "");
  return { text: `[${fieldLabels[field] ?? field.replace(/^attributes\./, "")}]` };
}

/** Each placeholder's shown value for a variable_mapping. */
export function shownValues(template, mapping, fieldLabels) {
  return Object.fromEntries(
    (template.placeholders || []).map((placeholder) => [placeholder.key, shownValue(placeholder, mapping[placeholder.key], fieldLabels)]),
  );
}

/** Draws the template into `container` with `values` ({key: {text, missing}}, shownValues). */
export function drawPreview(container, template, values) {
  const bubble = element("div", "wa-bubble");
  bubble.dir = "auto";
  const header = component(template, "HEADER");
  if (header) {
    const format = String(header.format || "TEXT").toUpperCase();
    if (format === "TEXT") {
      bubble.append(filled(element("div", "wa-header"), header.text, (name) => values[`header.${name}`]));
    } else {
      // An image, a video, a document or a location: its icon (container.dataset.icons: the icons' sprite).
      const media = element("div", "wa-media");
      const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
      use.setAttribute("href", `${container.dataset.icons}#${MEDIA_ICONS[format] || "file"}`);
      icon.setAttribute("aria-hidden", "true");
      icon.append(use);
      media.append(icon);
      const link = values.header;
      if (link?.text && !link.missing) media.append(element("bdi", "wa-media-link", link.text));
      bubble.append(media);
    }
  }
  const body = component(template, "BODY");
  if (body) bubble.append(filled(element("div", "wa-body"), body.text, (name) => values[name]));
  const footer = component(template, "FOOTER");
  if (footer?.text) bubble.append(element("div", "wa-footer", footer.text));
  const buttons = component(template, "BUTTONS")?.buttons || [];
  if (buttons.length) {
    const list = element("ul", "wa-buttons");
    for (const button of buttons) list.append(element("li", "", button.text || String(button.type || "").toLowerCase()));
    bubble.append(list);
  }
  container.replaceChildren(bubble);
}
