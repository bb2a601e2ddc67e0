// The notification bell in the rail of every page: the unread count, the latest notifications in a panel, live over
// the socket (/ws/inbox/: `notification.created` and `notification.count` reach only this person's sockets), and a
// browser pop-up for what the person asked for when they allowed it and the tab is hidden. A click marks the
// notification read and opens its page. On each (re)connection the count and the list are read again over REST. The
// socket is the page's own when it has one to /ws/inbox/ (live.js: one websocket per address).

import { api } from "./app.js";
import { LiveSocket } from "./live.js";

const bell = document.getElementById("notification-bell");
const LATEST = 20;

if (bell) {
  const badge = bell.querySelector("[data-bell-count]");
  const list = bell.querySelector("[data-bell-list]");
  const lang = document.documentElement.lang || "en";
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
  const absolute = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  let items = [];
  let loaded = false;

  const setCount = (count) => {
    const value = Number(count) || 0;
    badge.textContent = value > 99 ? "99+" : String(value);
    badge.hidden = value === 0;
    bell.dataset.unread = String(value);
    bell.querySelector("summary").setAttribute("aria-label", value ? `${bell.querySelector(".rail-label").textContent} (${value} ${bell.dataset.unreadLabel})` : bell.querySelector(".rail-label").textContent);
  };

  const ago = (iso) => {
    const seconds = (Date.parse(iso) - Date.now()) / 1000;
    const steps = [[60, "second"], [3600, "minute"], [86400, "hour"], [Infinity, "day"]];
    const divisors = { second: 1, minute: 60, hour: 3600, day: 86400 };
    for (const [limit, unit] of steps) {
      if (Math.abs(seconds) < limit) return relative.format(Math.round(seconds / divisors[unit]), unit);
    }
    return "";
  };

  const render = () => {
    if (!items.length) {
      list.replaceChildren(Object.assign(document.createElement("li"), { className: "bell-empty", textContent: bell.dataset.empty }));
      return;
    }
    list.replaceChildren(
      ...items.map((item) => {
        const li = document.createElement("li");
        li.className = `bell-item${item.read_at ? "" : " is-unread"}`;
        li.dataset.notification = String(item.id);
        const link = document.createElement("a");
        link.href = item.link || "#";
        link.dataset.id = String(item.id);
        const title = Object.assign(document.createElement("span"), { className: "bell-title", textContent: item.title });
        title.dir = "auto";
        link.append(title);
        if (item.body) {
          const body = Object.assign(document.createElement("span"), { className: "bell-body", textContent: item.body });
          body.dir = "auto";
          link.append(body);
        }
        const time = Object.assign(document.createElement("time"), { className: "bell-time", textContent: ago(item.created_at) });
        time.dateTime = item.created_at;
        time.title = absolute.format(new Date(item.created_at));
        link.append(time);
        li.append(link);
        return li;
      }),
    );
  };

  // Frames of this person that arrived: a REST answer asked for before one of them is older than it, and is asked
  // for again rather than shown (it would put back the count the frame had just moved).
  let frames = 0;
  const load = async () => {
    const before = frames;
    try {
      const [page, count] = await Promise.all([api("GET", `/api/v1/notifications/?page_size=${LATEST}`), api("GET", "/api/v1/notifications/unread-count")]);
      if (frames !== before) return load();
      items = page.results;
      loaded = true;
      setCount(count.unread_count);
      render();
    } catch {
      list.replaceChildren(Object.assign(document.createElement("li"), { className: "bell-empty", textContent: bell.dataset.error }));
    }
  };

  const popUp = (notification) => {
    if (!("Notification" in window) || Notification.permission !== "granted" || document.visibilityState !== "hidden") return;
    const shown = new Notification(notification.title, { body: notification.body || "", tag: `notification-${notification.id}`, lang });
    shown.addEventListener("click", () => {
      window.focus();
      open(notification);
    });
  };

  const open = async (notification) => {
    try {
      await api("POST", `/api/v1/notifications/${notification.id}/read`);
    } catch {
      // Opening the page matters more than the mark.
    }
    if (notification.link) window.location.assign(notification.link);
  };

  list.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-id]");
    if (!link) return;
    event.preventDefault();
    const notification = items.find((item) => String(item.id) === link.dataset.id);
    if (notification) open(notification);
  });

  bell.querySelector("[data-bell-read-all]").addEventListener("click", async () => {
    await api("POST", "/api/v1/notifications/read-all");
    const now = new Date().toISOString();
    items = items.map((item) => ({ ...item, read_at: item.read_at || now }));
    setCount(0);
    render();
  });

  bell.addEventListener("toggle", () => {
    if (bell.open && !loaded) load();
    if (bell.open) render();
  });
  document.addEventListener("click", (event) => {
    if (bell.open && !bell.contains(event.target)) bell.open = false;
  });
  bell.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      bell.open = false;
      bell.querySelector("summary").focus();
    }
  });

  // The page's own live socket to /ws/inbox/ when it has one (live.js shares it), else one of the bell's.
  new LiveSocket(
    "/ws/inbox/",
    {
      hello: () => load(),
      member: (frame) => {
        frames += 1;
        const data = frame.data || {};
        if (frame.type === "notification.created" && data.notification) {
          items = [data.notification, ...items.filter((item) => item.id !== data.notification.id)].slice(0, LATEST);
          render();
          if (data.browser) popUp(data.notification);
        }
        if (data.unread_count !== undefined) setCount(data.unread_count);
      },
    },
    { events: [] },
  ).connect();
}
