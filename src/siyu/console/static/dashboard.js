// Draws the dashboard charts from the JSON the server rendered into the panel; runs again after an
// HTMX swap of the panel (date-range change).
(function () {
  const charts = [];
  function draw() {
    const node = document.getElementById("dashboard-data");
    if (!node || !window.echarts) return;
    const { data, locale, labels } = JSON.parse(node.textContent);
    charts.splice(0).forEach((c) => c.dispose());
    const make = (id, option) => {
      const el = document.getElementById(id);
      if (!el) return;
      const chart = echarts.init(el);
      chart.setOption(option);
      charts.push(chart);
    };
    const name = (c) => (locale === "zh" ? c.name_zh : c.name_en);
    make("chart-channels", {
      tooltip: { trigger: "item", valueFormatter: (v) => "¥" + Number(v).toLocaleString() },
      series: [{ type: "pie", radius: ["40%", "70%"],
                 data: data.channels.map((c) => ({ name: name(c), value: Number(c.gmv) })) }],
    });
    make("chart-tiers", {
      tooltip: {},
      xAxis: { type: "category", data: data.tiers.map((t) => t.tier) },
      yAxis: { type: "value" },
      series: [{ type: "bar", name: labels.members, data: data.tiers.map((t) => t.members) }],
    });
    make("chart-months", {
      tooltip: { trigger: "axis" },
      legend: { data: [labels.all, labels.member] },
      xAxis: { type: "category", data: data.months.map((m) => m.month) },
      yAxis: { type: "value" },
      series: [
        { type: "bar", name: labels.all, data: data.months.map((m) => Number(m.gmv)) },
        { type: "line", name: labels.member, data: data.months.map((m) => Number(m.member_gmv)) },
      ],
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
