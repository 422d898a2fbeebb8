// The overview: every topic's latest window, a sparkline and its open alerts; sortable by any
// column, filtered by names or patterns; refreshed in place.
"use strict";

const state = { data: null, key: "n", asc: false };
const filter = document.getElementById("filter");
const length = document.getElementById("length");

const value = (t, key) => (key === "topic" ? t.topic : key === "from" ? t.latest.window_start
  : key === "alerts" ? t.open_alerts.length : t.latest[key]);

function render() {
  if (!state.data) return;
  fp.showFreshness(state.data);
  const keep = fp.matcher(filter.value);
  const topics = state.data.topics.filter((t) => keep(t.topic));
  topics.sort((a, b) => {
    const x = value(a, state.key), y = value(b, state.key);
    return (x < y ? -1 : x > y ? 1 : 0) * (state.asc ? 1 : -1) || a.topic.localeCompare(b.topic);
  });
  const body = document.querySelector("#topics tbody");
  body.innerHTML = topics.map((t) => {
    const w = t.latest;
    const marks = t.open_alerts.map((a) => `<span class="badge ${fp.esc(a.severity)}" title="${fp.esc(a.rule)}">${fp.esc(a.rule)}</span>`).join(" ");
    return `<tr data-topic="${fp.esc(t.topic)}">
      <td class="topic"><a href="${fp.topicUrl(t.topic)}">${fp.esc(t.topic)}</a></td>
      <td>${fp.time(w.window_start).slice(11)}${w.final ? "" : " <span class=muted>open</span>"}</td>
      <td>${w.n}</td><td>${w.n_negative}</td><td>${w.n_neutral}</td><td>${w.n_positive}</td>
      <td class="${fp.cls(w.score_mean)}">${fp.num(w.score_mean)}</td><td>${fp.pct(w.negative_share)}</td>
      <td class="spark"></td><td class="alerts">${marks}</td></tr>`;
  }).join("");
  body.querySelectorAll("tr").forEach((row, i) => {
    const s = topics[i].spark;
    fp.spark(row.querySelector(".spark"), s.map((p) => p[0]), s.map((p) => p[1]));
  });
  document.getElementById("count").textContent = `${topics.length} of ${state.data.topics.length} topics`;
  document.querySelectorAll("th[data-key]").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.key === state.key);
    th.classList.toggle("asc", th.dataset.key === state.key && state.asc);
  });
}

document.querySelectorAll("th[data-key]").forEach((th) => th.addEventListener("click", () => {
  state.asc = state.key === th.dataset.key ? !state.asc : th.dataset.key === "topic";
  state.key = th.dataset.key;
  render();
}));
filter.value = new URLSearchParams(location.search).get("q") || "";
filter.addEventListener("input", render);
length.addEventListener("change", () => { state.data = null; });
fp.poll(() => `/api/overview?length=${length.value}&hours=3`, (data) => { state.data = data; render(); });
