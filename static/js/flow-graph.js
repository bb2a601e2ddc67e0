// The adapter between a flow's own JSON (nodes {id, type, data, position} and edges {id, source, target,
// source_handle?}, stored by the hub) and Drawflow's export (its editor draws it). Only this module knows Drawflow's
// shape, so the editor can be swapped for another. A node's outputs are its branches (handles) in a fixed order:
// output_1 is the first of handlesOf(node), and so on; a node's Drawflow data holds {id, type, data}.
//
// Drawflow inserts a node's HTML as it is: every text that comes from the tenant is escaped here (escapeHtml).

const MODULE = "Home";

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The choice ids of an ask node: its question's buttons or list rows, else its `choices`. */
export function choicesOf(data) {
  const action = data?.question?.interactive?.action ?? {};
  const ids = [];
  for (const button of action.buttons ?? []) if (button?.reply?.id) ids.push(String(button.reply.id));
  for (const section of action.sections ?? []) for (const row of section?.rows ?? []) if (row?.id) ids.push(String(row.id));
  if (ids.length) return ids;
  return Array.isArray(data?.choices) ? data.choices.filter((c) => typeof c === "string") : [];
}

/** A node's branches, in the order of its Drawflow outputs ("" is its one way on). */
export function handlesOf(node, types) {
  const base = types[node.type]?.handles ?? [];
  if (node.type === "ask" && node.data?.validate === "choice") {
    return [...base, ...choicesOf(node.data).filter((id) => !base.includes(id))];
  }
  return base;
}

/** A short line saying what a node does (plain text: escape it before putting it in HTML). */
export function summaryOf(node, ctx) {
  const data = node.data ?? {};
  const choice = (group, value) => ctx.choices[group]?.[value] ?? value ?? "";
  const option = (group, id) => ctx.options[group]?.find((row) => row.id === id)?.label ?? "";
  switch (node.type) {
    case "trigger":
      return [choice("on", data.on), (data.keywords ?? []).join(", ")].filter(Boolean).join(": ");
    case "send_message":
      if (data.template_id) return `${ctx.strings.template}: ${option("templates", data.template_id)}`;
      return data.text ?? data.interactive?.body?.text ?? data.caption ?? data.template?.name ?? choice("message_kind", data.type);
    case "ask":
      return data.question?.text ?? data.question?.interactive?.body?.text ?? "";
    case "condition": {
      const subject = data.attribute ?? data.variable ?? data.tag ?? "";
      const window = data.from ? `${data.from}–${data.to}` : "";
      return [choice("check", data.check), subject, data.operator ? choice("operator", data.operator) : "", data.value ?? "", window]
        .filter((part) => part !== "")
        .join(" ");
    }
    case "set_tag":
      return `${choice("action", data.action ?? "add")}: ${(data.tags ?? []).join(", ")}`;
    case "set_attribute":
      return `${data.attribute ?? data.variable ?? ""} = ${data.value ?? ""}`;
    case "assign":
      return [option("users", data.user_id), option("teams", data.team_id)].filter(Boolean).join(" · ");
    case "bot":
      return option("bots", data.bot_id);
    case "http_request":
      return `${data.method ?? "GET"} ${data.url ?? ""}`;
    case "function":
      return option("functions", data.function_id);
    case "delay":
      return data.amount ? `${data.amount} ${choice("unit", data.unit ?? "minutes")}` : "";
    default:
      return "";
  }
}

/** The HTML Drawflow draws inside a node: its type, its id and what it does, every tenant text escaped. */
export function nodeHtml(node, ctx) {
  const type = ctx.types[node.type];
  return (
    `<div class="fnode-head"><span class="fnode-type">${escapeHtml(type?.label ?? node.type)}</span>` +
    `<code class="fnode-id">${escapeHtml(node.id)}</code></div>` +
    `<div class="fnode-summary" dir="auto">${escapeHtml(summaryOf(node, ctx))}</div>` +
    `<ul class="fnode-errors" data-node-errors></ul>`
  );
}

/** Drawflow's import shape for a flow's nodes and edges. */
export function toDrawflow(flow, ctx) {
  const data = {};
  const numbers = new Map(flow.nodes.map((node, index) => [node.id, String(index + 1)]));
  for (const node of flow.nodes) {
    const key = numbers.get(node.id);
    const handles = handlesOf(node, ctx.types);
    const outputs = {};
    handles.forEach((_, index) => {
      outputs[`output_${index + 1}`] = { connections: [] };
    });
    data[key] = {
      id: Number(key),
      name: node.type,
      data: { id: node.id, type: node.type, data: node.data ?? {} },
      class: `fnode fnode-${node.type}`,
      html: nodeHtml(node, ctx),
      typenode: false,
      inputs: node.type === "trigger" ? {} : { input_1: { connections: [] } },
      outputs,
      pos_x: node.position?.x ?? 0,
      pos_y: node.position?.y ?? 0,
    };
  }
  const byId = new Map(flow.nodes.map((node) => [node.id, node]));
  for (const edge of flow.edges) {
    const source = byId.get(edge.source);
    const sourceKey = numbers.get(edge.source);
    const targetKey = numbers.get(edge.target);
    if (!source || !targetKey || !data[targetKey].inputs.input_1) continue;
    const index = handlesOf(source, ctx.types).indexOf(edge.source_handle ?? "");
    if (index < 0) continue;
    const output = `output_${index + 1}`;
    data[sourceKey].outputs[output].connections.push({ node: targetKey, output: "input_1" });
    data[targetKey].inputs.input_1.connections.push({ node: sourceKey, input: output });
  }
  return { drawflow: { [MODULE]: { data } } };
}

/** A flow's nodes and edges from Drawflow's export (positions rounded; edge ids made from their ends). */
export function fromDrawflow(exported, ctx) {
  const data = exported.drawflow[MODULE]?.data ?? {};
  const nodes = [];
  const edges = [];
  const taken = new Set();
  const edgeId = (...parts) => {
    // An edge id is 1-64 of [A-Za-z0-9_-] (a branch may be any button id): other characters become "_".
    const base = parts.join("-").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60);
    let id = base;
    for (let n = 2; taken.has(id); n += 1) id = `${base}-${n}`;
    taken.add(id);
    return id;
  };
  const ids = new Map();
  for (const [key, entry] of Object.entries(data)) ids.set(String(key), entry.data.id);
  for (const entry of Object.values(data)) {
    const node = {
      id: entry.data.id,
      type: entry.data.type,
      data: entry.data.data ?? {},
      position: { x: Math.round(entry.pos_x), y: Math.round(entry.pos_y) },
    };
    nodes.push(node);
    const handles = handlesOf(node, ctx.types);
    for (const [output, { connections }] of Object.entries(entry.outputs ?? {})) {
      const handle = handles[Number(output.replace("output_", "")) - 1];
      if (handle === undefined) continue;
      for (const connection of connections) {
        const target = ids.get(String(connection.node));
        const edge = { id: edgeId(node.id, handle || "next", target), source: node.id, target };
        if (handle) edge.source_handle = handle;
        edges.push(edge);
      }
    }
  }
  return { nodes, edges };
}
