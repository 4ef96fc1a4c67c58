// The reports page's charts: uPlot (vendored, static/uplot.iife.min.js) over the report the
// server put in the page. No request leaves the page; no inline script or style is needed.
(function () {
  "use strict";
  var boot = JSON.parse(document.getElementById("boot").textContent || "{}");
  var report = boot.report;
  if (!report || !window.uPlot) return;

  function days() {
    return report.days.map(function (d) { return Date.parse(d.day + "T12:00:00Z") / 1000; });
  }
  function column(key, scale) {
    return report.days.map(function (d) { return d[key] == null ? null : d[key] * (scale || 1); });
  }
  var COLOURS = ["#0b5cad", "#b26b00", "#b3261e", "#1a7f37"];

  function chart(id, xs, series, opts) {
    var el = document.getElementById(id);
    if (!el) return;
    var width = Math.max(280, el.clientWidth || 520);
    var conf = {
      width: width, height: 220,
      scales: { x: { time: !(opts && opts.hours) } },
      axes: [{}, { size: 50 }],
      series: [{}].concat(series.map(function (s, i) {
        return { label: el.getAttribute("data-label-" + s.label), stroke: COLOURS[i], width: 2, points: { show: true } };
      }))
    };
    new window.uPlot(conf, [xs].concat(series.map(function (s) { return s.values; })), el);
    el.setAttribute("data-drawn", "true");
  }

  if (report.days.length) {
    var xs = days();
    chart("chart-chats", xs, [
      { label: "answered", values: column("answered") },
      { label: "offline", values: column("offline") },
      { label: "abandoned", values: column("abandoned") }
    ]);
    chart("chart-times", xs, [
      { label: "p50", values: column("wait_p50") },
      { label: "p90", values: column("wait_p90") },
      { label: "frt", values: column("first_response_avg") }
    ]);
    chart("chart-csat", xs, [{ label: "csat", values: column("csat", 100) }]);
  }
  var hours = [];
  for (var i = 0; i < 24; i++) hours.push(i);
  chart("chart-hours", hours, [{ label: "chats", values: report.hours_of_day }], { hours: true });
})();
