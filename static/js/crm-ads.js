// The ads pages' chart (Chart.js, vendored, drawn as static/js/dashboard.js draws its chart): one line per series
// (an ad's conversations started per day; on an ad's page its conversations and new contacts), right-to-left in Arabic.
const data = JSON.parse(document.getElementById("chart-data").textContent);
const rtl = document.documentElement.dir === "rtl";
const lang = document.documentElement.lang;
const style = getComputedStyle(document.documentElement);
const color = (name) => style.getPropertyValue(name).trim();
const dayFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
const palette = ["--accent", "--read", "#e67e22", "#8e44ad", "#16a085", "#c0392b", "#2c3e50", "#d4ac0d"];
const paint = (index) => {
  const name = palette[index % palette.length];
  return name.startsWith("--") ? color(name) : name;
};

new window.Chart(document.getElementById("ads-chart"), {
  type: "line",
  data: {
    labels: data.labels.map((day) => dayFormat.format(new Date(`${day}T00:00:00Z`))),
    datasets: data.series.map((series, index) => ({
      label: series.label,
      data: series.data,
      borderColor: paint(index),
      backgroundColor: paint(index),
      tension: 0.2,
      pointRadius: 2,
    })),
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
