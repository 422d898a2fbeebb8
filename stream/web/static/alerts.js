// The alert feed: newest first, each with its evidence and delivery status per subscriber.
"use strict";

const filter = document.getElementById("filter");
const hours = document.getElementById("hours");
let last = null;

function render() {
  if (!last) return;
  fp.showFreshness({ data_time: last.alerts.length ? last.alerts[0].created_at : null, behind_s: last.alerts.length ? last.now - last.alerts[0].created_at : 0 });
  const keep = fp.matcher(filter.value);
  const alerts = last.alerts.filter((a) => keep(a.topic));
  document.getElementById("feed").innerHTML = alerts.map(fp.alertHtml).join("") || "<p class=muted>no alerts</p>";
  document.getElementById("count").textContent = `${alerts.length} alerts`;
}

filter.addEventListener("input", render);
fp.poll(() => `/api/alerts?hours=${hours.value}`, (data) => { last = data; render(); }, 3);
