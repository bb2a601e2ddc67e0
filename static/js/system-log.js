// Settings > Logs: the list reloads itself (with its filters and page) when new entries are pushed
// (`system_log.created`, to the organization's admins), through live-fragment.js.
import { liveFragment } from "./live-fragment.js";

const root = document.getElementById("system-log");
const body = document.getElementById("system-log-body");

if (root && body) liveFragment({ root, body, events: ["system_log.created"] });
