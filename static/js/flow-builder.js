// The flow builder: Drawflow draws the flow's nodes and edges (static/js/flow-graph.js converts the hub's JSON both
// ways), the palette adds nodes (after the selected one, connected to it), the settings panel edits the selected
// node (static/js/flow-settings.js), and the page saves, activates, deletes and tries the flow through the API. The
// hub checks the graph: its 400 names the nodes and edges at fault, drawn on them here.
import { ApiError, api } from "./app.js";
import { fromDrawflow, handlesOf, nodeHtml, toDrawflow } from "./flow-graph.js";
import { renderSettings } from "./flow-settings.js";

const ctx = JSON.parse(document.getElementById("flow-builder-data").textContent);
const root = document.getElementById("flow-builder");
const strings = ctx.strings;
const MODULE = "Home";
const SPACING_X = 280;
const SPACING_Y = 150;
const DEFAULT_DATA = {
  trigger: () => ({ on: "keyword", keywords: [], match: "exact" }),
  send_message: () => ({ type: "text", text: "" }),
  send_flow: () => ({ body: "", cta: "" }),
  ask: () => ({ question: { type: "text", text: "" }, validate: "text" }),
  condition: () => ({ check: "reply", operator: "equals", value: "" }),
  set_tag: () => ({ tags: [], action: "add" }),
  set_attribute: () => ({ attribute: "", value: "" }),
  assign: () => ({}),
  bot: () => ({}),
  http_request: () => ({ method: "GET", url: "" }),
  function: () => ({}),
  delay: () => ({ amount: 1, unit: "minutes" }),
  end: () => ({}),
};

let flow = ctx.flow ?? { id: null, name: "", nodes: [], edges: [], is_active: false, version: 0 };
let dirty = false;
let errors = { nodes: {}, edges: {}, graph: [] };
let selected = null; // the Drawflow id of the selected node

const $ = (selector) => root.querySelector(selector);
const nameInput = $("#flow-name");
const statusLine = $("[data-status]");
const settings = $("[data-settings]");
const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");

// --- the canvas ------------------------------------------------------------------------------------------------------

const editor = new window.Drawflow(document.getElementById("drawflow"));
editor.curvature = 0.4;
editor.zoom_min = 0.3;
editor.start();

const nodesData = () => editor.drawflow.drawflow[MODULE].data;
const ourNode = (dfId) => nodesData()[dfId]?.data;
const dfIdOf = (nodeId) => Object.values(nodesData()).find((entry) => entry.data.id === nodeId)?.id;

/** Labels on each node's outputs (its branches), and the hub's refusals drawn on the nodes they name. */
function decorate() {
  for (const entry of Object.values(nodesData())) {
    const element = document.getElementById(`node-${entry.id}`);
    if (!element) continue;
    handlesOf(entry.data, ctx.types).forEach((handle, index) => {
      const output = element.querySelector(`.outputs .output_${index + 1}`);
      if (!output) return;
      const label = ctx.handles[handle] ?? handle;
      output.title = label;
      // A node's one way on needs no word on the canvas; its branches do.
      output.dataset.label = handle ? label : "";
    });
    const messages = errors.nodes[entry.data.id] ?? [];
    element.classList.toggle("has-error", messages.length > 0);
    const list = element.querySelector("[data-node-errors]");
    if (list) {
      list.replaceChildren(
        ...messages.map((message) => {
          const item = document.createElement("li");
          item.textContent = message;
          return item;
        }),
      );
    }
  }
  $("[data-add='trigger']").disabled = Object.values(nodesData()).some((entry) => entry.data.type === "trigger");
}

function load(graph) {
  editor.clear();
  editor.import(toDrawflow(graph, ctx));
  decorate();
}

function markDirty() {
  dirty = true;
  $("[data-dirty]").hidden = false;
}

function say(text, kind = "") {
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

function select(dfId) {
  selected = dfId;
  const node = dfId === null ? null : ourNode(dfId);
  if (!node) {
    selected = null;
    settings.replaceChildren();
    const hint = document.createElement("p");
    hint.className = "muted settings-empty";
    hint.textContent = strings.select_node;
    settings.append(hint);
    return;
  }
  renderSettings(settings, node, ctx, (data, { rerender }) => change(dfId, data, rerender), errors.nodes[node.id] ?? []);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button button-danger button-small";
  remove.textContent = strings.remove_node;
  remove.addEventListener("click", () => editor.removeNodeId(`node-${dfId}`));
  settings.append(remove);
}

/** Show `dfId` as the selected node (as a click on it does). */
function highlight(dfId) {
  editor.node_selected?.classList.remove("selected");
  const element = document.getElementById(`node-${dfId}`);
  element?.classList.add("selected");
  editor.node_selected = element;
  select(dfId);
}

function change(dfId, data, rerender) {
  const node = ourNode(dfId);
  const before = handlesOf(node, ctx.types).join("\n");
  const updated = { ...node, data };
  editor.updateNodeDataFromId(dfId, updated);
  markDirty();
  if (handlesOf(updated, ctx.types).join("\n") !== before) {
    // Other branches: redraw the graph (edges of branches that went are dropped).
    load(fromDrawflow(editor.export(), ctx));
    highlight(dfIdOf(updated.id));
    return;
  }
  const html = nodeHtml(updated, ctx);
  nodesData()[dfId].html = html;
  const content = document.querySelector(`#node-${dfId} .drawflow_content_node`);
  if (content) content.innerHTML = html; // nodeHtml escapes every text
  decorate();
  if (rerender) select(dfId);
}

editor.on("nodeSelected", (id) => select(id));
editor.on("nodeUnselected", () => select(null));
editor.on("nodeMoved", markDirty);
editor.on("connectionRemoved", markDirty);
editor.on("nodeRemoved", (id) => {
  markDirty();
  if (String(selected) === String(id)) select(null);
  decorate();
});
editor.on("connectionCreated", ({ output_id: source, input_id: target, output_class: output }) => {
  // One edge per branch: the newest replaces the one before.
  const connections = editor.getNodeFromId(source).outputs[output].connections;
  for (const connection of connections.slice(0, -1)) {
    editor.removeSingleConnection(source, connection.node, output, "input_1");
  }
  if (String(source) === String(target)) editor.removeSingleConnection(source, target, output, "input_1");
  markDirty();
});

// --- the palette --------------------------------------------------------------------------------------------------------

function newId(type) {
  const taken = new Set(Object.values(nodesData()).map((entry) => entry.data.id));
  for (let n = 1; ; n += 1) {
    const id = `${type}_${n}`;
    if (!taken.has(id)) return id;
  }
}

function visibleSpot() {
  // Where a node lands when none is selected: the left third of what the canvas shows (a flow reads left to right).
  const rect = editor.precanvas.parentElement.getBoundingClientRect();
  return {
    x: (Math.min(rect.width / 3, 160) - editor.canvas_x) / editor.zoom,
    y: (rect.height / 3 - editor.canvas_y) / editor.zoom,
  };
}

function addNode(type) {
  const node = { id: newId(type), type, data: DEFAULT_DATA[type]() };
  const after = selected !== null ? editor.getNodeFromId(selected) : null;
  let position = visibleSpot();
  let output = null;
  if (after) {
    const handles = handlesOf(after.data, ctx.types);
    const free = handles.findIndex((_, index) => !after.outputs[`output_${index + 1}`]?.connections.length);
    output = free >= 0 ? `output_${free + 1}` : null;
    position = { x: after.pos_x + SPACING_X, y: after.pos_y + Math.max(free, 0) * SPACING_Y };
  }
  const outputs = handlesOf(node, ctx.types).length;
  const dfId = editor.addNode(type, type === "trigger" ? 0 : 1, outputs, position.x, position.y, `fnode fnode-${type}`, node, nodeHtml(node, ctx));
  if (after && output && type !== "trigger") editor.addConnection(after.id, dfId, output, "input_1");
  markDirty();
  decorate();
  highlight(dfId);
}

for (const button of root.querySelectorAll("[data-add]")) {
  button.addEventListener("click", () => addNode(button.dataset.add));
}

// --- saving, errors, activating ------------------------------------------------------------------------------------------

function showErrors(body) {
  const found = body?.errors ?? {};
  errors = { nodes: found.nodes ?? {}, edges: found.edges ?? {}, graph: found.graph ?? [] };
  decorate();
  const banner = $("[data-graph-errors]");
  const lines = [...errors.graph, ...Object.entries(errors.edges).map(([id, messages]) => `${fmt(strings.edge, { id })}: ${messages.join(" ")}`)];
  if (found.name) lines.push(...found.name);
  banner.replaceChildren(
    ...lines.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  banner.hidden = lines.length === 0;
  nameInput.setAttribute("aria-invalid", found.name ? "true" : "false");
  if (selected !== null) select(selected);
}

function showFlow() {
  $("[data-active]").textContent = flow.is_active ? strings.active : strings.inactive;
  $("[data-active]").className = `badge ${flow.is_active ? "badge-success" : ""}`;
  $("[data-version]").textContent = flow.version ? `v${flow.version}` : "";
  const toggle = $("[data-action='toggle']");
  toggle.textContent = flow.is_active ? strings.deactivate : strings.activate;
  toggle.disabled = !flow.id;
  $("[data-action='delete']").hidden = !flow.id;
}

async function save() {
  const graph = fromDrawflow(editor.export(), ctx);
  const body = { name: nameInput.value.trim() || strings.untitled, nodes: graph.nodes, edges: graph.edges };
  try {
    flow = flow.id ? await api("PATCH", `${ctx.urls.flows}/${flow.id}`, body) : await api("POST", ctx.urls.flows, body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      showErrors(error.body);
      say(error.body?.errors?.nodes || error.body?.errors?.edges || error.body?.errors?.graph ? strings.save_failed : error.message, "error");
    } else {
      say(strings.error, "error");
    }
    return false;
  }
  history.replaceState(null, "", ctx.urls.builder.replace("/0/", `/${flow.id}/`));
  dirty = false;
  $("[data-dirty]").hidden = true;
  showErrors({});
  showFlow();
  say(fmt(strings.saved, { version: flow.version }), "success");
  return true;
}

async function toggleActive() {
  if (dirty && !(await save())) return;
  try {
    flow = await api("POST", `${ctx.urls.flows}/${flow.id}/${flow.is_active ? "deactivate" : "activate"}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) showErrors(error.body);
    say(error instanceof ApiError ? error.message : strings.error, "error");
    return;
  }
  showFlow();
  say(flow.is_active ? strings.activated : strings.deactivated, "success");
}

async function deleteFlow() {
  if (!flow.id || !window.confirm(strings.delete_confirm)) return;
  try {
    await api("DELETE", `${ctx.urls.flows}/${flow.id}`);
  } catch {
    say(strings.error, "error");
    return;
  }
  dirty = false;
  window.location.assign(ctx.urls.list);
}

$("[data-action='save']").addEventListener("click", save);
$("[data-action='toggle']").addEventListener("click", toggleActive);
$("[data-action='delete']").addEventListener("click", deleteFlow);
nameInput.addEventListener("input", markDirty);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "s") {
    event.preventDefault();
    save();
  }
});
window.addEventListener("beforeunload", (event) => {
  if (dirty) event.preventDefault();
});

// --- the side panel's tabs ------------------------------------------------------------------------------------------------

for (const tab of root.querySelectorAll("[role='tab']")) {
  tab.addEventListener("click", () => {
    for (const other of root.querySelectorAll("[role='tab']")) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
    }
    if (tab.dataset.tab === "test") refreshTranscript();
  });
}

// --- trying the flow on a sandbox number --------------------------------------------------------------------------------

const test = { runId: null, numberId: null, timer: null, polls: 0 };
const testForm = $("[data-test-form]");
const transcript = $("[data-transcript]");
const runLine = $("[data-run-status]");

function bubble(message) {
  const item = document.createElement("li");
  item.className = `test-bubble ${message.direction === "inbound" ? "is-customer" : "is-flow"}`;
  const who = document.createElement("span");
  who.className = "test-who";
  who.textContent = message.direction === "inbound" ? strings.you : strings.flow;
  const body = document.createElement("p");
  body.dir = "auto";
  body.textContent = message.text || (message.template ? `${strings.template}: ${message.template.name}` : `[${message.type}]`);
  item.append(who, body);
  const action = message.interactive?.action ?? {};
  const replies = [
    ...(action.buttons ?? []).map((button) => button.reply?.title),
    ...(action.sections ?? []).flatMap((section) => (section.rows ?? []).map((row) => row.title)),
  ].filter(Boolean);
  if (replies.length) {
    const chips = document.createElement("div");
    chips.className = "test-replies";
    for (const title of replies) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "button button-small";
      chip.dir = "auto";
      chip.textContent = title;
      chip.addEventListener("click", () => sendTest(title));
      chips.append(chip);
    }
    item.append(chips);
  }
  return item;
}

async function refreshTranscript() {
  if (!test.runId) return;
  try {
    const run = await api("GET", `${ctx.urls.runs}/${test.runId}`);
    const status = ctx.run_statuses[run.status] ?? run.status;
    runLine.textContent = fmt(strings.run_status, { status }) + (run.last_error ? ` · ${run.last_error}` : "");
    if (run.conversation_id) {
      const page = await api("GET", `${ctx.urls.conversations}/${run.conversation_id}/messages?limit=50`);
      const started = new Date(run.started_at).getTime() - 60000;
      const shown = page.results.filter((message) => new Date(message.timestamp).getTime() >= started).reverse();
      transcript.replaceChildren(...shown.map(bubble));
      transcript.scrollTop = transcript.scrollHeight;
    }
  } catch {
    // The next poll tries again.
  }
}

function poll() {
  clearInterval(test.timer);
  test.polls = 0;
  test.timer = setInterval(() => {
    test.polls += 1;
    if (test.polls > 30) clearInterval(test.timer);
    refreshTranscript();
  }, 1000);
  refreshTranscript();
}

async function sendTest(text) {
  if ((dirty || !flow.id) && !(await save())) {
    say(strings.test_needs_save, "error");
    return;
  }
  const phone = testForm.elements.phone.value.trim();
  const numberId = testForm.elements.number?.value;
  try {
    let active = false;
    if (test.runId) {
      const run = await api("GET", `${ctx.urls.runs}/${test.runId}`);
      active = run.status === "waiting" || run.status === "running";
    }
    if (active) {
      await api("POST", ctx.urls.sandbox, { number_id: test.numberId, from: phone, text });
    } else {
      const body = { from: phone };
      if (numberId) body.number_id = Number(numberId);
      if (text) body.text = text;
      const started = await api("POST", `${ctx.urls.flows}/${flow.id}/test`, body);
      test.runId = started.run_id;
      test.numberId = started.number_id;
      say(strings.test_started, "success");
    }
  } catch (error) {
    say(error instanceof ApiError ? error.message : strings.error, "error");
    return;
  }
  poll();
}

if (testForm) {
  testForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = testForm.elements.text.value.trim();
    testForm.elements.text.value = "";
    sendTest(text);
  });
  $("[data-action='restart']").addEventListener("click", () => {
    test.runId = null;
    clearInterval(test.timer);
    transcript.replaceChildren();
    runLine.textContent = "";
  });
}

// --- start ----------------------------------------------------------------------------------------------------------------

load(flow);
showFlow();
select(null);
if (!flow.id && !flow.nodes.length) addNode("trigger");
dirty = !flow.id;
$("[data-dirty]").hidden = !dirty;
