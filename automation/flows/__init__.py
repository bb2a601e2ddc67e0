"""Flows: graphs of nodes and edges that answer inbound WhatsApp messages on their own.

The JSON of a flow is a public API (integrators write it by hand), kept plain:

    {
      "name": "Order status",
      "nodes": [
        {"id": "start", "type": "trigger", "data": {"on": "keyword", "keywords": ["order"], "match": "exact"},
         "position": {"x": 0, "y": 0}},
        {"id": "ask_id", "type": "ask", "position": {"x": 260, "y": 0},
         "data": {"question": {"type": "text", "text": "Your order number?"}, "validate": "number",
                  "variable": "order_id", "timeout_minutes": 30}},
        {"id": "lookup", "type": "function", "data": {"function_id": 3}, "position": {"x": 520, "y": 0}},
        {"id": "reply", "type": "send_message", "position": {"x": 780, "y": 0},
         "data": {"type": "text", "text": "Order {{vars.order_id}}: {{vars.order_status}}"}},
        {"id": "bye", "type": "send_message", "position": {"x": 520, "y": 160},
         "data": {"type": "text", "text": "No answer: write ORDER again when you have it."}}
      ],
      "edges": [
        {"id": "e1", "source": "start", "target": "ask_id"},
        {"id": "e2", "source": "ask_id", "target": "lookup"},
        {"id": "e3", "source": "ask_id", "target": "bye", "source_handle": "timeout"},
        {"id": "e4", "source": "lookup", "target": "reply"}
      ]
    }

A node is `{id, type, data, position: {x, y}}`; an edge `{id, source, target, source_handle?}`, where the handle
names the branch a node leaves by (none: its one way on; `yes`/`no` of a condition; a choice id, `timeout` or
`invalid` of an ask; `error` of an HTTP request or a function). The node types and their `data` are in
automation/flows/schema.py (NODE_TYPES), and in the README; a graph is checked on save there: one trigger, known
node types with valid data, no edge to or from a node that does not exist, every node reachable from the trigger,
and every cycle passing through a wait (an ask or a delay). A refusal is a 400 whose `errors.nodes.<id>` (or
`errors.edges.<id>`) names what is at fault.

Texts may hold placeholders, filled in when the step runs (templating.py): `{{contact.name}}`,
`{{contact.first_name}}`, `{{contact.phone}}`, `{{contact.<attribute>}}`, `{{vars.<variable>}}` and
`{{message.text}}` (the latest reply).

The rooms: schema.py (what a graph may be), templating.py (placeholders and JSON paths), triggers.py (which inbound
message starts a run), nodes.py (what each node does), engine.py (runs: start, continue, wait, wake; one
transaction per step), http.py (HTTP requests and custom functions, through the egress policy), workflows.py
(workflows/: a trigger and a list of steps, as a linear flow), drawflow is the builder page's business
(static/js/flow-graph.js converts).
"""
