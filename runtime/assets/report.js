// stampede's HTML report: draws the time series embedded in the page with uPlot (embedded
// too). Every chart records what it plotted on its element (data-points, data-total-*), so
// that a test, or a curious reader, can check the charts against the summary.
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e));
    document.body.setAttribute("data-errors", errors.join(" | "));
  });
  var data = JSON.parse(document.getElementById("stampede-data").textContent);
  var pts = data.points;
  var x = pts.map(function (p) { return data.start + p.t; });
  var per = function (f) {
    return pts.map(function (p) { var v = f(p); return v == null ? null : v / p.len; });
  };
  var col = function (f) { return pts.map(f); };
  var palette = ["#2c6fbb", "#e8871e", "#3aa655", "#c8423b", "#7b5cc4", "#6b7280"];

  function chart(id, title, unit, series) {
    var el = document.getElementById(id);
    if (!el) return;
    var axes = [{}, { label: unit, size: 70 }];
    var scales = { x: { time: true } };
    series.forEach(function (s) {
      // A series of another kind (VUs next to rates) gets its own scale, on the right.
      if (s.scale && !scales[s.scale]) {
        scales[s.scale] = { auto: true };
        axes.push({ scale: s.scale, side: 1, label: s.label, size: 60, grid: { show: false } });
      }
    });
    var opts = {
      title: title,
      width: Math.max(320, el.clientWidth || 600),
      height: 240,
      scales: scales,
      axes: axes,
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label, scale: s.scale || "y", stroke: palette[i % palette.length], width: 1.5, spanGaps: false };
      })),
    };
    var u = new uPlot(opts, [x].concat(series.map(function (s) { return s.values; })), el);
    el.setAttribute("data-points", String(u.data[0].length));
    series.forEach(function (s, i) {
      if (!s.total) return;
      // Back from rates per second to counts: what the chart holds, interval by interval.
      var total = 0;
      u.data[i + 1].forEach(function (v, k) { if (v != null) total += v * pts[k].len; });
      el.setAttribute("data-total-" + s.total, String(Math.round(total * 1000) / 1000));
    });
    el.setAttribute("data-series", series.map(function (s) { return s.label; }).join(","));
    return u;
  }

  var drawn = 0;
  if (pts.length > 0) {
    if (chart("chart-requests", "Requests and VUs", "per second", [
      { label: "requests/s", values: per(function (p) { return p.reqs; }), total: "requests" },
      { label: "VUs", values: col(function (p) { return p.vus; }), scale: "vus" },
      { label: "iterations/s", values: per(function (p) { return p.iterations; }), total: "iterations" },
    ])) drawn++;
    if (chart("chart-latency", "Request duration", "ms", [
      { label: "p(50)", values: col(function (p) { return p.p50; }) },
      { label: "p(90)", values: col(function (p) { return p.p90; }) },
      { label: "p(95)", values: col(function (p) { return p.p95; }) },
      { label: "p(99)", values: col(function (p) { return p.p99; }) },
    ])) drawn++;
    if (chart("chart-failures", "Failures", "per second", [
      { label: "failed requests/s", values: per(function (p) { return p.failed; }), total: "failed" },
      { label: "failed checks/s", values: per(function (p) { return p.checks_failed; }), total: "checks-failed" },
      { label: "dropped iterations/s", values: per(function (p) { return p.dropped; }), total: "dropped" },
    ])) drawn++;
    if (chart("chart-data", "Data", "bytes per second", [
      { label: "sent", values: per(function (p) { return p.sent; }), total: "sent" },
      { label: "received", values: per(function (p) { return p.received; }), total: "received" },
    ])) drawn++;
  }
  (data.windows || []).forEach(function (w, i) {
    var el = document.getElementById("chart-window-" + i);
    if (!el || w.values.length === 0) return;
    var u = new uPlot({
      title: w.title,
      width: Math.max(320, el.clientWidth || 600),
      height: 200,
      scales: { x: { time: true } },
      series: [{}, { label: w.aggregation, stroke: "#c8423b", width: 1.5 },
               { label: "threshold", stroke: "#6b7280", dash: [4, 4], width: 1 }],
    }, [w.values.map(function (v) { return v[0]; }),
        w.values.map(function (v) { return v[1]; }),
        w.values.map(function () { return w.bound; })], el);
    el.setAttribute("data-points", String(u.data[0].length));
    drawn++;
  });
  document.body.setAttribute("data-charts", String(drawn));
})();
