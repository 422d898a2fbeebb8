// Shared helpers of the dashboard pages and the reports: formatting, topic filters, the live
// poll with the data time and freshness, and the uPlot charts.
"use strict";

const fp = {};

fp.time = (s) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
fp.num = (x, digits = 2) => (x === null || x === undefined ? "" : (x >= 0 ? "+" : "") + x.toFixed(digits));
fp.pct = (x) => (x * 100).toFixed(0) + "%";
fp.esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
fp.cls = (x) => (x < 0 ? "neg" : x > 0 ? "pos" : "");
fp.topicUrl = (t) => "/topic/" + encodeURIComponent(t);
fp.ago = (s) => (s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h");

// "AAPL theme:* ZQ?" -> a test: exact names or glob patterns (* and ?), any of them; none = all.
fp.matcher = (text) => {
  const parts = text.trim().split(/[\s,]+/).filter(Boolean);
  const res = parts.map((p) => new RegExp("^" + p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "i"));
  return (topic) => res.length === 0 || res.some((re) => re.test(topic));
};

fp.showFreshness = (data) => {
  const el = document.getElementById("freshness");
  if (!el) return;
  if (data.data_time === null || data.data_time === undefined) {
    el.textContent = "no windows yet";
    return;
  }
  el.textContent = `data to ${fp.time(data.data_time)} UTC · ${fp.ago(data.behind_s)} behind · updated ${new Date().toISOString().slice(11, 19)}`;
  el.classList.toggle("stale", data.behind_s > 600);
  el.dataset.updated = String(Date.now());
};

// Fetch url every `seconds` and hand the JSON to render; the page never reloads.
fp.poll = (url, render, seconds = 3) => {
  const tick = async () => {
    try {
      const response = await fetch(typeof url === "function" ? url() : url, { credentials: "same-origin" });
      if (response.ok) render(await response.json());
    } catch (err) {
      console.warn("poll failed", err);
    }
    setTimeout(tick, seconds * 1000);
  };
  tick();
};

// A sparkline: no axes, a line of the mean score in [-1, 1].
fp.spark = (el, xs, ys) => {
  el.innerHTML = "";
  if (xs.length < 2) return null;
  return new uPlot({ width: 160, height: 28, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: true }, y: { range: [-1, 1] } }, axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: ys[ys.length - 1] < 0 ? "#c0392b" : "#1e8449", width: 1.5, points: { show: false } }] },
    [xs, ys], el);
};

// A timeline of one figure over window starts, with alerts as vertical marks; `data-points` on
// the element says how many windows it draws (the browser tests read it).
fp.timeline = (el, opts) => {
  el.innerHTML = "";
  const { xs, series, alerts = [], width = 460, height = 170, range, onPick } = opts;
  const marks = {
    hooks: { draw: [(u) => {
      const ctx = u.ctx;
      ctx.save();
      for (const a of alerts) {
        const x = u.valToPos(a.window_start, "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.strokeStyle = a.kind === "resolution" ? "#1e8449" : a.severity === "critical" ? "#c0392b" : "#d68910";
        ctx.lineWidth = 2;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    }] },
  };
  const plot = new uPlot({
    width, height, plugins: [marks],
    scales: { x: { time: true }, y: range ? { range } : {} },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, dash: s.dash, spanGaps: true, points: { show: xs.length < 40 } }))],
    cursor: { drag: { x: false, y: false } },
  }, [xs, ...series.map((s) => s.values)], el);
  el.dataset.points = String(xs.length);
  if (onPick) {
    plot.over.addEventListener("click", () => {
      const i = plot.cursor.idx;
      if (i !== null && i !== undefined) onPick(i);
    });
  }
  return plot;
};

// The three charts of one window length: mean score, negative share (with its baseline), texts.
fp.drawTimelines = (container, series, alerts, opts = {}) => {
  const xs = series.start;
  const specs = [
    { key: "score", title: "mean score", range: [-1, 1], lines: [{ label: "mean score", stroke: "#2e86c1", values: series.score_mean }] },
    { key: "negative", title: "negative share", range: [0, 1], lines: [
      { label: "negative share", stroke: "#c0392b", values: series.negative_share },
      { label: "baseline", stroke: "#7f8c8d", dash: [5, 4], values: series.baseline }] },
    { key: "volume", title: "texts", lines: [{ label: "texts", stroke: "#6c3483", values: series.n }] },
  ];
  container.innerHTML = "";
  return specs.map((spec) => {
    const box = document.createElement("div");
    box.className = "chart";
    box.innerHTML = `<h3>${spec.title}</h3><div class="plot" data-chart="${spec.key}"></div>`;
    container.appendChild(box);
    return fp.timeline(box.querySelector(".plot"), { xs, series: spec.lines, alerts, range: spec.range, width: opts.width, onPick: opts.onPick });
  });
};

fp.evidence = (a) => {
  const e = Object.assign({}, a.evidence);
  return JSON.stringify(e, null, 1);
};

fp.alertHtml = (a) => `
  <div class="alert ${fp.esc(a.kind === "resolution" ? "resolution" : a.severity)}" data-alert="${fp.esc(a.alert_id)}">
    <span class="badge ${fp.esc(a.kind === "resolution" ? "resolution" : a.severity)}">${fp.esc(a.kind)} · ${fp.esc(a.severity)}</span>
    <a href="${fp.topicUrl(a.topic)}"><b>${fp.esc(a.topic)}</b></a> ${fp.esc(a.rule)}
    · window ${fp.time(a.window_start)} (${a.window_seconds / 60} min) · value ${a.value.toFixed(2)}
    vs baseline ${a.baseline.toFixed(2)} (z ${a.z.toFixed(1)}, threshold ${a.threshold.toFixed(2)})
    <span class="muted">raised ${fp.time(a.created_at)}</span>
    ${(a.deliveries || []).map((d) => `<span class="badge ${fp.esc(d.outcome)}" title="${fp.esc(d.channel)} ${fp.esc(d.subscription_id)}">${fp.esc(d.subscription_id.slice(0, 8))}: ${fp.esc(d.outcome)} (${d.attempts})</span>`).join(" ")}
    <details><summary>evidence</summary><pre>${fp.esc(fp.evidence(a))}</pre></details>
  </div>`;
