// The settings panel of the flow builder: a form per node type that reads a node's `data` into fields and writes
// the fields back into `data` (the JSON the hub stores: README, "Flows"), and, for every node, its data as JSON to
// edit by hand. Plain DOM, no HTML strings: what a tenant typed is never parsed as markup.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key === "value" || key === "checked" || key === "selected") node[key] = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const lines = (text) =>
  String(text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

/** "key = value" (or "Name: value") lines as an object. */
function pairs(text, separator) {
  const found = {};
  for (const line of lines(text)) {
    const at = line.indexOf(separator);
    if (at > 0) found[line.slice(0, at).trim()] = line.slice(at + separator.length).trim();
  }
  return found;
}

const unpairs = (object, separator) =>
  Object.entries(object ?? {})
    .map(([key, value]) => `${key}${separator}${value}`)
    .join("\n");

const int = (value) => {
  const number = Number.parseInt(String(value ?? "").trim(), 10);
  return Number.isFinite(number) ? number : undefined;
};

/** An object without its undefined and empty-string values. */
function compact(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== ""));
}

const choicesOf = (ctx, group, { blank = false } = {}) => [
  ...(blank ? [["", ctx.strings.none]] : []),
  ...Object.entries(ctx.choices[group] ?? {}),
];
const optionsOf = (ctx, group) => [["", ctx.strings.none], ...(ctx.options[group] ?? []).map((row) => [String(row.id), row.label])];

// --- the node types -------------------------------------------------------------------------------------------------

function messageKind(data) {
  if (data.template_id !== undefined) return "template";
  if (data.type === "text") return "text";
  if (data.type === "interactive") return data.interactive?.type === "list" ? "list" : "buttons";
  if (["image", "document", "video"].includes(data.type)) return data.type;
  if (data.type === undefined) return "text";
  return null; // written by hand (a location, a raw template...): the JSON editor only
}

function buttonTitles(message) {
  return (message?.interactive?.action?.buttons ?? []).map((button) => button?.reply?.title ?? "").join("\n");
}

function buttonsMessage(body, titles) {
  return {
    type: "interactive",
    interactive: {
      type: "button",
      body: { text: body },
      action: { buttons: lines(titles).slice(0, 3).map((title) => ({ type: "reply", reply: { id: title, title } })) },
    },
  };
}

const TYPES = {
  trigger: {
    fields(data, ctx) {
      const fields = [{ key: "on", kind: "select", choices: choicesOf(ctx, "on"), value: data.on ?? "keyword", structural: true }];
      const on = data.on ?? "keyword";
      if (on === "keyword" || on === "button_reply") {
        fields.push({
          key: "keywords",
          label: on === "keyword" ? "keywords" : "button_ids",
          kind: "textarea",
          value: (data.keywords ?? []).join("\n"),
        });
      }
      if (on === "keyword") fields.push({ key: "match", kind: "select", choices: choicesOf(ctx, "match"), value: data.match ?? "exact" });
      return fields;
    },
    compose(values) {
      const keywords = lines(values.keywords);
      return compact({
        on: values.on,
        keywords: keywords.length ? keywords : undefined,
        match: values.on === "keyword" ? values.match || "exact" : undefined,
      });
    },
  },

  send_message: {
    fields(data, ctx) {
      const kind = messageKind(data);
      if (kind === null) return [];
      const fields = [{ key: "kind", label: "message_kind", kind: "select", choices: choicesOf(ctx, "message_kind"), value: kind, structural: true }];
      if (kind === "text") fields.push({ key: "text", kind: "textarea", value: data.text ?? "" });
      if (kind === "buttons") {
        fields.push({ key: "body", kind: "textarea", value: data.interactive?.body?.text ?? "" });
        fields.push({ key: "buttons", kind: "textarea", value: buttonTitles(data) });
      }
      if (kind === "list") {
        const action = data.interactive?.action ?? {};
        fields.push({ key: "body", label: "text", kind: "textarea", value: data.interactive?.body?.text ?? "" });
        fields.push({ key: "list_button", kind: "text", value: action.button ?? "" });
        const rows = (action.sections ?? []).flatMap((section) => section.rows ?? []);
        fields.push({ key: "rows", kind: "textarea", value: rows.map((row) => row.title).join("\n") });
      }
      if (["image", "document", "video"].includes(kind)) {
        fields.push({ key: "media_id", kind: "number", value: data.media_id ?? "" });
        fields.push({ key: "caption", kind: "text", value: data.caption ?? "" });
      }
      if (kind === "template") {
        fields.push({ key: "template", kind: "select", choices: optionsOf(ctx, "templates"), value: String(data.template_id ?? "") });
        fields.push({ key: "parameters", kind: "textarea", value: unpairs(data.parameters, " = ") });
      }
      return fields;
    },
    compose(values) {
      switch (values.kind) {
        case "buttons":
          return buttonsMessage(values.body ?? "", values.buttons);
        case "list": {
          const rows = lines(values.rows).slice(0, 10).map((title) => ({ id: title, title }));
          return {
            type: "interactive",
            interactive: { type: "list", body: { text: values.body ?? "" }, action: { button: values.list_button ?? "", sections: [{ rows }] } },
          };
        }
        case "image":
        case "document":
        case "video":
          return compact({ type: values.kind, media_id: int(values.media_id), caption: values.caption });
        case "template":
          return compact({ type: "template", template_id: int(values.template), parameters: pairs(values.parameters, "=") });
        default:
          return { type: "text", text: values.text ?? "" };
      }
    },
  },

  send_flow: {
    fields(data, ctx) {
      return [
        { key: "flow_id", label: "whatsapp_flow", kind: "select", choices: optionsOf(ctx, "whatsapp_flows"), value: String(data.flow_id ?? "") },
        { key: "body", label: "text", kind: "textarea", value: data.body ?? "" },
        { key: "cta", kind: "text", value: data.cta ?? "" },
      ];
    },
    compose(values) {
      return compact({ flow_id: int(values.flow_id), body: values.body ?? "", cta: values.cta ?? "" });
    },
  },

  ask: {
    fields(data, ctx) {
      const question = data.question ?? {};
      const buttons = buttonTitles(question);
      const storeIn = data.attribute !== undefined ? "attribute" : data.variable !== undefined ? "variable" : "";
      const validate = data.validate ?? "text";
      const fields = [
        { key: "question", kind: "textarea", value: question.text ?? question.interactive?.body?.text ?? "" },
        { key: "buttons", kind: "textarea", value: buttons },
        { key: "validate", kind: "select", choices: choicesOf(ctx, "validate"), value: validate, structural: true },
      ];
      if (validate === "choice" && !buttons) fields.push({ key: "choices", kind: "textarea", value: (data.choices ?? []).join("\n") });
      fields.push({ key: "store_in", kind: "select", choices: choicesOf(ctx, "store_in"), value: storeIn, structural: true });
      if (storeIn) fields.push({ key: "name", kind: "text", value: data[storeIn] ?? "" });
      fields.push({ key: "timeout_minutes", kind: "number", value: data.timeout_minutes ?? "" });
      fields.push({ key: "invalid_message", kind: "text", value: data.invalid_message ?? "" });
      fields.push({ key: "max_attempts", kind: "number", value: data.max_attempts ?? "" });
      return fields;
    },
    compose(values) {
      const question = lines(values.buttons).length
        ? buttonsMessage(values.question ?? "", values.buttons)
        : { type: "text", text: values.question ?? "" };
      const choices = lines(values.choices);
      return compact({
        question,
        validate: values.validate,
        choices: values.validate === "choice" && choices.length && question.type === "text" ? choices : undefined,
        [values.store_in || "_"]: values.store_in ? values.name ?? "" : undefined,
        timeout_minutes: int(values.timeout_minutes),
        invalid_message: values.invalid_message,
        max_attempts: int(values.max_attempts),
      });
    },
  },

  condition: {
    fields(data, ctx) {
      const check = data.check ?? "reply";
      const fields = [{ key: "check", kind: "select", choices: choicesOf(ctx, "check"), value: check, structural: true }];
      if (check === "attribute" || check === "variable") fields.push({ key: check, kind: "text", value: data[check] ?? "" });
      if (["reply", "attribute", "variable"].includes(check)) {
        const operator = data.operator ?? "equals";
        fields.push({ key: "operator", kind: "select", choices: choicesOf(ctx, "operator"), value: operator, structural: true });
        if (!["exists", "not_exists"].includes(operator)) fields.push({ key: "value", kind: "text", value: data.value ?? "" });
      }
      if (check === "tag") fields.push({ key: "tag", kind: "text", value: data.tag ?? "" });
      if (check === "time_of_day" || check === "business_hours") {
        fields.push({ key: "from", kind: "time", value: data.from ?? "09:00" });
        fields.push({ key: "to", kind: "time", value: data.to ?? "17:00" });
      }
      if (check === "business_hours") {
        fields.push({ key: "days", kind: "checkboxes", choices: choicesOf(ctx, "days"), value: data.days ?? ["mon", "tue", "wed", "thu", "fri"] });
      }
      return fields;
    },
    compose(values) {
      const check = values.check;
      const numeric = ["gt", "gte", "lt", "lte"].includes(values.operator);
      const value = numeric && values.value !== "" && Number.isFinite(Number(values.value)) ? Number(values.value) : values.value;
      return compact({
        check,
        attribute: check === "attribute" ? values.attribute : undefined,
        variable: check === "variable" ? values.variable : undefined,
        operator: ["reply", "attribute", "variable"].includes(check) ? values.operator : undefined,
        value: ["reply", "attribute", "variable"].includes(check) && !["exists", "not_exists"].includes(values.operator) ? value ?? "" : undefined,
        tag: check === "tag" ? values.tag : undefined,
        from: ["time_of_day", "business_hours"].includes(check) ? values.from : undefined,
        to: ["time_of_day", "business_hours"].includes(check) ? values.to : undefined,
        days: check === "business_hours" ? values.days : undefined,
      });
    },
  },

  set_tag: {
    fields(data, ctx) {
      return [
        { key: "tags", kind: "text", value: (data.tags ?? []).join(", ") },
        { key: "action", kind: "select", choices: choicesOf(ctx, "action"), value: data.action ?? "add" },
      ];
    },
    compose(values) {
      const tags = String(values.tags ?? "")
        .split(",")
        .map((tag) => tag.trim())
        .filter(Boolean);
      return { tags, action: values.action };
    },
  },

  set_attribute: {
    fields(data, ctx) {
      const target = data.variable !== undefined ? "variable" : "attribute";
      return [
        { key: "target", label: "store_in", kind: "select", choices: choicesOf(ctx, "target"), value: target, structural: true },
        { key: "name", kind: "text", value: data[target] ?? "" },
        { key: "value", kind: "text", value: data.value ?? "" },
      ];
    },
    compose(values) {
      return { [values.target]: values.name ?? "", value: values.value ?? "" };
    },
  },

  assign: {
    fields(data, ctx) {
      return [
        { key: "user", kind: "select", choices: optionsOf(ctx, "users"), value: String(data.user_id ?? "") },
        { key: "team", kind: "select", choices: optionsOf(ctx, "teams"), value: String(data.team_id ?? "") },
      ];
    },
    compose(values) {
      return compact({ user_id: int(values.user), team_id: int(values.team) });
    },
  },

  bot: {
    fields(data, ctx) {
      return [{ key: "bot", kind: "select", choices: optionsOf(ctx, "bots"), value: String(data.bot_id ?? "") }];
    },
    compose(values) {
      return compact({ bot_id: int(values.bot) });
    },
  },

  http_request: {
    fields(data, ctx) {
      return [
        { key: "method", kind: "select", choices: choicesOf(ctx, "method"), value: data.method ?? "GET" },
        { key: "url", kind: "text", value: data.url ?? "", dir: "ltr" },
        { key: "headers", kind: "textarea", value: unpairs(data.headers, ": "), dir: "ltr" },
        { key: "body", label: "request_body", kind: "textarea", value: data.body === undefined ? "" : JSON.stringify(data.body, null, 2), dir: "ltr", json: true },
        { key: "response_map", kind: "textarea", value: unpairs(data.response_map, " = "), dir: "ltr" },
        { key: "save_to", kind: "text", value: data.save_to ?? "" },
        { key: "timeout_seconds", kind: "number", value: data.timeout_seconds ?? "" },
      ];
    },
    compose(values, data) {
      let body;
      try {
        body = values.body?.trim() ? JSON.parse(values.body) : undefined;
      } catch {
        body = data.body; // the field shows its own error; the last valid body stays
      }
      const headers = pairs(values.headers, ":");
      const responseMap = pairs(values.response_map, "=");
      return compact({
        method: values.method,
        url: values.url,
        headers: Object.keys(headers).length ? headers : undefined,
        body,
        response_map: Object.keys(responseMap).length ? responseMap : undefined,
        save_to: values.save_to,
        timeout_seconds: int(values.timeout_seconds),
      });
    },
  },

  function: {
    fields(data, ctx) {
      return [
        { key: "function", kind: "select", choices: optionsOf(ctx, "functions"), value: String(data.function_id ?? "") },
        { key: "save_to", kind: "text", value: data.save_to ?? "" },
      ];
    },
    compose(values) {
      return compact({ function_id: int(values.function), save_to: values.save_to });
    },
  },

  delay: {
    fields(data, ctx) {
      return [
        { key: "amount", kind: "number", value: data.amount ?? 1 },
        { key: "unit", kind: "select", choices: choicesOf(ctx, "unit"), value: data.unit ?? "minutes" },
      ];
    },
    compose(values) {
      return compact({ amount: int(values.amount), unit: values.unit });
    },
  },

  end: {
    fields() {
      return [];
    },
    compose() {
      return {};
    },
  },
};

// --- the form ------------------------------------------------------------------------------------------------------

function control(field, id, ctx) {
  if (field.kind === "select") {
    const select = el("select", { id, name: field.key });
    for (const [value, label] of field.choices) select.append(el("option", { value, text: label, selected: value === field.value }));
    return select;
  }
  if (field.kind === "textarea") return el("textarea", { id, name: field.key, rows: 3, dir: field.dir ?? "auto", value: field.value ?? "" });
  if (field.kind === "checkboxes") {
    const group = el("div", { className: "flow-days", role: "group", id });
    for (const [value, label] of field.choices) {
      const box = el("input", { type: "checkbox", name: field.key, value, checked: field.value.includes(value) });
      group.append(el("label", { className: "checkbox" }, box, label));
    }
    return group;
  }
  const type = { number: "number", time: "time" }[field.kind] ?? "text";
  return el("input", { id, name: field.key, type, dir: field.dir ?? "auto", value: String(field.value ?? ""), min: type === "number" ? "1" : null });
}

function readValues(form, fields) {
  const values = {};
  for (const field of fields) {
    if (field.kind === "checkboxes") {
      values[field.key] = [...form.querySelectorAll(`input[name="${field.key}"]:checked`)].map((box) => box.value);
    } else {
      values[field.key] = form.elements[field.key]?.value ?? "";
    }
  }
  return values;
}

/**
 * Draws the settings of `node` ({id, type, data}) into `container`; `onChange(data, {rerender})` gets the node's new
 * data on every edit (`rerender`: the form's fields depend on what changed). `errors`: the messages of the hub's
 * last refusal for this node.
 */
export function renderSettings(container, node, ctx, onChange, errors = []) {
  container.replaceChildren();
  const type = TYPES[node.type];
  const info = ctx.types[node.type];
  container.append(
    el("h2", { className: "settings-title", text: info?.label ?? node.type }),
    el("p", { className: "muted settings-help", text: info?.help ?? "" }),
    el("p", { className: "muted settings-id" }, el("code", { text: node.id })),
  );
  if (errors.length) {
    const list = el("ul", { className: "form-error settings-errors", role: "alert" });
    for (const message of errors) list.append(el("li", { text: message }));
    container.append(list);
  }
  const form = el("form", { className: "settings-form", novalidate: true });
  form.addEventListener("submit", (event) => event.preventDefault());
  const fields = type ? type.fields(node.data ?? {}, ctx) : [];
  for (const field of fields) {
    const id = `setting-${field.key}`;
    const wrap = el("div", { className: "field" });
    wrap.append(el("label", { for: id, text: ctx.strings[field.label ?? field.key] ?? field.key }));
    const input = control(field, id, ctx);
    wrap.append(input);
    if (field.json) {
      const problem = el("p", { className: "error", hidden: true, text: ctx.strings.invalid_json });
      input.addEventListener("input", () => {
        try {
          if (input.value.trim()) JSON.parse(input.value);
          problem.hidden = true;
        } catch {
          problem.hidden = false;
        }
      });
      wrap.append(problem);
    }
    form.append(wrap);
    const event = field.kind === "select" || field.kind === "checkboxes" ? "change" : "input";
    input.addEventListener(event, () => {
      onChange(type.compose(readValues(form, fields), node.data ?? {}), { rerender: Boolean(field.structural) });
    });
  }
  if (!fields.length && node.type === "end") container.append(el("p", { className: "muted", text: ctx.strings.no_settings }));
  container.append(form);

  // Every node's data as JSON: whatever the form does not offer (a location, a raw template, a list's descriptions).
  const details = el("details", { className: "settings-json", open: fields.length === 0 && node.type !== "end" });
  details.append(el("summary", { text: ctx.strings.advanced }));
  const textarea = el("textarea", { rows: 8, dir: "ltr", spellcheck: "false", value: JSON.stringify(node.data ?? {}, null, 2) });
  textarea.setAttribute("aria-label", ctx.strings.advanced);
  const problem = el("p", { className: "error", hidden: true, text: ctx.strings.invalid_json });
  textarea.addEventListener("change", () => {
    try {
      const data = JSON.parse(textarea.value);
      if (data === null || typeof data !== "object" || Array.isArray(data)) throw new TypeError("not an object");
      problem.hidden = true;
      onChange(data, { rerender: true });
    } catch {
      problem.hidden = false;
    }
  });
  details.append(textarea, problem);
  container.append(details);
}
