// The ads pages' chart (Chart.js, vendored, as the dashboard draws its chart): one line per series (an ad's
// conversations started per day; on an ad's page its conversations and new contacts), right-to-left in Arabic.
import { color, countOptions, dayLabels } from "./charts.js";

const data = JSON.parse(document.getElementById("chart-data").textContent);
const palette = ["--accent", "--read", "#e67e22", "#8e44ad", "#16a085", "#c0392b", "#2c3e50", "#d4ac0d"];
const paint = (index) => {
  const name = palette[index % palette.length];
  return name.startsWith("--") ? color(name) : name;
};

new window.Chart(document.getElementById("ads-chart"), {
  type: "line",
  data: {
    labels: dayLabels(data.labels, { weekday: false }),
    datasets: data.series.map((series, index) => ({
      label: series.label,
      data: series.data,
      borderColor: paint(index),
      backgroundColor: paint(index),
      tension: 0.2,
      pointRadius: 2,
    })),
  },
  options: countOptions(),
});
