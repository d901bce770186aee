// The report page's 30-day trend: booked, admitted and no-shows per day, drawn with the vendored ECharts from
// the figures the page carries in data-chart (the table under the chart has the same figures).
(function () {
  "use strict";
  const element = document.getElementById("trend-chart");
  if (!element || typeof echarts === "undefined") return;
  const data = JSON.parse(element.dataset.chart);
  const chart = echarts.init(element, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    color: ["#1f5f99", "#2e8540", "#c0392b"],
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 32 },
    xAxis: { type: "category", data: data.dates.map(function (day) { return day.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map(function (series, index) {
      return { name: series.name, type: index === 0 ? "bar" : "line", data: series.values, symbolSize: 4 };
    }),
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
