// Draws a report's charts from the JSON embedded in the page (stream/web/report.py).
"use strict";

(() => {
  const report = JSON.parse(document.getElementById("report-data").textContent);
  document.querySelectorAll(".charts[data-topic]").forEach((box) => {
    const t = report.topics[Number(box.dataset.topic)];
    const len = Number(box.dataset.length);
    const series = t.timelines[String(len)] || { start: [], score_mean: [], negative_share: [], n: [], baseline: [] };
    fp.drawTimelines(box, series, t.alerts.filter((a) => a.window_seconds === len), { width: 330 });
  });
  document.body.dataset.ready = "1";
})();
