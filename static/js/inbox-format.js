// The inbox's shared helpers: translated strings, times in the organization's time zone, small DOM builders.

const strings = JSON.parse(document.getElementById("inbox-strings").textContent);
export const data = JSON.parse(document.getElementById("inbox-data").textContent);
export const lang = document.documentElement.lang || "en";
export const icons = document.getElementById("inbox").dataset.icons;
const timeZone = data.time_zone || "UTC";
/** A 24-hour window closing within this many milliseconds is flagged (a dot on the row, the header in amber). */
export const CLOSING_SOON = 2 * 3600 * 1000;

/** A translated string, `%(name)s` filled from `params`. */
export function t(key, params = {}) {
  const text = strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(params[name] ?? ""));
}

/** document.createElement with attributes, properties (`class`, `text`, `dataset`) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An icon of the sprite; `mirror` icons point and flip in right-to-left pages. */
export function icon(name, className = "icon") {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `${icons}#${name}`);
  svg.append(use);
  return svg;
}

export function initials(name) {
  const words = (name || "").replace(/[^\p{L}\p{N}\s]/gu, " ").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "#";
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]];
  return letters.map((word) => [...word][0]).join("").toUpperCase();
}

/** What the inbox calls a contact: its name, else its phone. */
export function contactLabel(contact) {
  return contact.name || contact.phone || (contact.wa_id ? `+${contact.wa_id}` : t("customer"));
}

// --- time -------------------------------------------------------------------------------------------

const dayKeyFormat = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
const clockFormat = new Intl.DateTimeFormat(lang, { timeZone, hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(lang, { timeZone, dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(lang, { timeZone, weekday: "long", day: "numeric", month: "long" });
const dayYearFormat = new Intl.DateTimeFormat(lang, { timeZone, day: "numeric", month: "long", year: "numeric" });
const shortDateFormat = new Intl.DateTimeFormat(lang, { timeZone, day: "numeric", month: "short" });
const weekdayFormat = new Intl.DateTimeFormat(lang, { timeZone, weekday: "short" });
const unit = (name) => new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "narrow" });
const minutes = unit("minute");
const hours = unit("hour");

/** The calendar day of a time in the organization's time zone, as YYYY-MM-DD. */
export function dayKey(date) {
  return dayKeyFormat.format(date);
}

function daysBefore(date, now = new Date()) {
  return Math.round((Date.parse(dayKey(now)) - Date.parse(dayKey(date))) / 86400000);
}

export const clock = (date) => clockFormat.format(date);
export const fullTime = (date) => fullFormat.format(date);

/** A day separator's label: Today, Yesterday, the weekday and date, or the date with its year. */
export function dayLabel(date) {
  const days = daysBefore(date);
  if (days === 0) return t("today");
  if (days === 1) return t("yesterday");
  return days < 300 ? dayFormat.format(date) : dayYearFormat.format(date);
}

/** A list row's time: now, 5 min, 3 h (today), yesterday's weekday, a date. */
export function relativeTime(date, now = new Date()) {
  const seconds = (now - date) / 1000;
  if (seconds < 60) return t("now");
  if (seconds < 3600) return minutes.format(Math.floor(seconds / 60));
  const days = daysBefore(date, now);
  if (days === 0) return hours.format(Math.floor(seconds / 3600));
  if (days < 7) return weekdayFormat.format(date);
  return shortDateFormat.format(date);
}

const durationFormat = "DurationFormat" in Intl ? new Intl.DurationFormat(lang, { style: "narrow" }) : null;

/** "3 h 12 min" for a number of milliseconds (at least a minute). */
export function duration(ms) {
  const total = Math.max(1, Math.ceil(ms / 60000));
  const parts = { hours: Math.floor(total / 60), minutes: total % 60 };
  if (durationFormat) {
    return durationFormat.format(parts.hours ? parts : { minutes: parts.minutes });
  }
  return [parts.hours ? hours.format(parts.hours) : "", parts.minutes ? minutes.format(parts.minutes) : ""]
    .filter(Boolean)
    .join(" ");
}

const sizeFormat = (value, name) =>
  new Intl.NumberFormat(lang, { style: "unit", unit: name, maximumFractionDigits: 1 }).format(value);

export function fileSize(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1024) return sizeFormat(bytes, "byte");
  if (bytes < 1024 * 1024) return sizeFormat(bytes / 1024, "kilobyte");
  return sizeFormat(bytes / (1024 * 1024), "megabyte");
}

/** Where an API answer's `next` link points, as a path of this origin (the API builds absolute links). */
export function samePath(link) {
  const url = new URL(link, window.location.origin);
  return url.pathname + url.search;
}
