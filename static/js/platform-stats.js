// The platform stats' charts (Chart.js, vendored, as the dashboard draws its own): sign-ups and messages per month,
// organizations per plan. Right-to-left in Arabic.
const data = JSON.parse(document.getElementById("chart-data").textContent);
const names = document.getElementById("chart-labels").dataset;
const rtl = document.documentElement.dir === "rtl";
const lang = document.documentElement.lang;
const style = getComputedStyle(document.documentElement);
const color = (name) => style.getPropertyValue(name).trim();
const monthFormat = new Intl.DateTimeFormat(lang, { month: "short", year: "2-digit", timeZone: "UTC" });
const legend = { rtl, position: "bottom", labels: { color: color("--text") } };
const tooltip = { rtl, textDirection: rtl ? "rtl" : "ltr" };

new window.Chart(document.getElementById("activity-chart"), {
  type: "bar",
  data: {
    labels: data.labels.map((month) => monthFormat.format(new Date(`${month}T00:00:00Z`))),
    datasets: [
      { label: names.messages, data: data.messages, backgroundColor: color("--accent"), borderRadius: 4, yAxisID: "y" },
      { label: names.signups, data: data.signups, type: "line", borderColor: color("--read"), backgroundColor: color("--read"), yAxisID: "y2" },
    ],
  },
  options: {
    maintainAspectRatio: false,
    animation: false,
    locale: lang,
    scales: {
      x: { reverse: rtl, grid: { display: false }, ticks: { color: color("--muted") } },
      y: { beginAtZero: true, position: rtl ? "right" : "left", ticks: { precision: 0, color: color("--muted") }, grid: { color: color("--border") } },
      y2: { beginAtZero: true, position: rtl ? "left" : "right", ticks: { precision: 0, color: color("--muted") }, grid: { display: false } },
    },
    plugins: { legend, tooltip },
  },
});

new window.Chart(document.getElementById("plans-chart"), {
  type: "doughnut",
  data: {
    labels: data.plans,
    datasets: [{
      label: names.organizations,
      data: data.plan_counts,
      backgroundColor: [color("--accent"), color("--read"), color("--warning"), color("--danger"), color("--muted")],
    }],
  },
  options: { maintainAspectRatio: false, animation: false, locale: lang, plugins: { legend, tooltip } },
});
