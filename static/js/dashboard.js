// The dashboard's chart: sent and received per day (Chart.js, vendored), right-to-left in Arabic.
import { color, countOptions, dayLabels } from "./charts.js";

const data = JSON.parse(document.getElementById("chart-data").textContent);
const names = document.getElementById("chart-labels").dataset;

new window.Chart(document.getElementById("messages-chart"), {
  type: "bar",
  data: {
    labels: dayLabels(data.labels),
    datasets: [
      { label: names.sent, data: data.sent, backgroundColor: color("--accent"), borderRadius: 4 },
      { label: names.received, data: data.received, backgroundColor: color("--read"), borderRadius: 4 },
    ],
  },
  options: countOptions(),
});
