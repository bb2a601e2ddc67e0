// The dashboard's chart: sent and received per day (Chart.js, vendored), right-to-left in Arabic.
const data = JSON.parse(document.getElementById("chart-data").textContent);
const names = document.getElementById("chart-labels").dataset;
const rtl = document.documentElement.dir === "rtl";
const lang = document.documentElement.lang;
const style = getComputedStyle(document.documentElement);
const color = (name) => style.getPropertyValue(name).trim();
const dayFormat = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

new window.Chart(document.getElementById("messages-chart"), {
  type: "bar",
  data: {
    labels: data.labels.map((day) => dayFormat.format(new Date(`${day}T00:00:00Z`))),
    datasets: [
      { label: names.sent, data: data.sent, backgroundColor: color("--accent"), borderRadius: 4 },
      { label: names.received, data: data.received, backgroundColor: color("--read"), borderRadius: 4 },
    ],
  },
  options: {
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
  },
});
