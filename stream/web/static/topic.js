// A topic page: timelines per window length with alerts marked, the alerts, and the texts
// behind a window (the latest 15-minute one, or any point clicked), most negative first.
"use strict";

const topic = decodeURIComponent(location.pathname.split("/").pop());
const hours = document.getElementById("hours");
let picked = null; // [start, end] chosen by a click; null = follow the latest window
document.getElementById("title").textContent = topic;
document.title = "finpulse · " + topic;

async function showTexts(start, end) {
  const response = await fetch(`/api/texts/${encodeURIComponent(topic)}?start=${start}&end=${end}`);
  if (!response.ok) return;
  const data = await response.json();
  document.getElementById("texts-title").textContent = `texts behind ${fp.time(start)} to ${fp.time(end).slice(11)} UTC, most negative first`;
  document.querySelector("#texts tbody").innerHTML = data.texts.map((t) => `<tr>
    <td>${fp.time(t.published_at)}</td><td class="topic">${fp.esc(t.source)}</td><td>${fp.esc(t.lang)}</td>
    <td class="${t.label === "negative" ? "neg" : t.label === "positive" ? "pos" : ""}">${fp.esc(t.label)}</td>
    <td class="${fp.cls(t.score)}">${fp.num(t.score)}</td>
    <td class="text">${t.title ? "<b>" + fp.esc(t.title) + "</b> " : ""}${fp.esc(t.text)}</td></tr>`).join("");
}

function render(data) {
  fp.showFreshness(data);
  document.querySelectorAll(".charts").forEach((box) => {
    const len = Number(box.dataset.length);
    const series = data.timelines[String(len)] || { start: [], score_mean: [], negative_share: [], n: [], baseline: [] };
    const alerts = data.alerts.filter((a) => a.window_seconds === len);
    fp.drawTimelines(box, series, alerts, { onPick: (i) => {
      picked = [series.start[i], series.start[i] + len];
      showTexts(...picked);
    } });
  });
  document.getElementById("alerts").innerHTML = data.alerts.slice().reverse().map(fp.alertHtml).join("") || "<p class=muted>no alerts in these hours</p>";
  const quarter = data.timelines["900"];
  if (!picked && quarter && quarter.start.length) {
    const start = quarter.start[quarter.start.length - 1];
    showTexts(start, start + 900);
  }
}

hours.addEventListener("change", () => { picked = null; });
fp.poll(() => `/api/topic/${encodeURIComponent(topic)}?hours=${hours.value}`, render, 5);
