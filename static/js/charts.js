// What the pages' charts (Chart.js, vendored) share: the theme's colours, days as the language writes them, and the
// axes and legend mirrored in Arabic. Used by dashboard.js and crm-ads.js.
const rtl = document.documentElement.dir === "rtl";
const lang = document.documentElement.lang;
const style = getComputedStyle(document.documentElement);

export const color = (name) => style.getPropertyValue(name).trim();

// ISO dates ("2026-03-01") as labels, e.g. "Sun 1 Mar" (`weekday: false` leaves the weekday out).
export function dayLabels(days, { weekday = true } = {}) {
  const format = new Intl.DateTimeFormat(lang, {
    ...(weekday ? { weekday: "short" } : {}),
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  });
  return days.map((day) => format.format(new Date(`${day}T00:00:00Z`)));
}

// The options of a chart of counts per day.
export function countOptions() {
  return {
    maintainAspectRatio: false,
    animation: false,
    locale: lang,
    scales: {
      x: { reverse: rtl, grid: { display: false }, ticks: { color: color("--muted") } },
      y: { beginAtZero: true, position: rtl ? "right" : "left", ticks: { precision: 0, color: color("--muted") }, grid: { color: color("--border") } },
    },
    plugins: {
      legend: { rtl, position: "bottom", labels: { color: color("--text") } },
      tooltip: { rtl, textDirection: rtl ? "rtl" : "ltr" },
    },
  };
}
