// Drives the dashboard in Debian's headless chromium with playwright-core (from FINPULSE_TOOLS).
//   node tests/browser/dashboard.cjs BASE_URL TOPIC ARTIFACTS_DIR ALERT_TOPIC ALERT_ID
// Prints one JSON line per step on stdout; after {"step":"waiting"} the test inserts an alert
// (ALERT_ID, about ALERT_TOPIC) and this script waits for it on the open pages, without a reload.
"use strict";

const path = require("path");
const tools = process.env.FINPULSE_TOOLS || path.join(__dirname, "..", "..", ".tools");
const { chromium } = require(path.join(tools, "node_modules", "playwright-core"));

const [base, topic, artifacts, alertTopic, alertId] = process.argv.slice(2);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.FINPULSE_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));

    await page.goto(base + "/");
    await page.waitForSelector("#topics tbody tr");
    const topics = await page.$$eval("#topics tbody tr", (rows) => rows.map((r) => r.dataset.topic));
    await page.screenshot({ path: path.join(artifacts, "overview.png"), fullPage: true });
    await page.fill("#filter", "theme:*");
    const filtered = await page.$$eval("#topics tbody tr", (rows) => rows.map((r) => r.dataset.topic));
    await page.fill("#filter", "");
    say({ step: "overview", topics, filtered });

    const topicPage = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    topicPage.on("pageerror", (err) => errors.push(String(err)));
    await topicPage.goto(base + "/topic/" + encodeURIComponent(topic));
    await topicPage.waitForSelector(".charts[data-length='3600'] .plot[data-points] canvas");
    await topicPage.waitForSelector("#texts tbody tr");
    const points = await topicPage.$$eval(".charts", (boxes) => boxes.map((b) => ({
      length: Number(b.dataset.length),
      charts: [...b.querySelectorAll(".plot")].map((p) => ({ chart: p.dataset.chart, points: Number(p.dataset.points) })),
    })));
    const texts = await topicPage.$$eval("#texts tbody tr", (rows) => rows.map((r) => r.cells[4].textContent));
    await topicPage.screenshot({ path: path.join(artifacts, "topic.png"), fullPage: true });
    say({ step: "topic", points, texts });

    const feed = await browser.newPage();
    feed.on("pageerror", (err) => errors.push(String(err)));
    await feed.goto(base + "/alerts");
    await feed.waitForSelector("#feed .alert");
    // A mark that a reload would wipe: the alert must arrive with it still set.
    for (const p of [page, feed]) await p.evaluate(() => { window.__noReload = true; });
    say({ step: "waiting" });
    await feed.waitForSelector(`[data-alert="${alertId}"]`, { timeout: 30000 });
    await page.waitForSelector(`tr[data-topic="${alertTopic}"] .alerts .badge`, { timeout: 30000 });
    const kept = await Promise.all([page, feed].map((p) => p.evaluate(() => window.__noReload === true)));
    await feed.screenshot({ path: path.join(artifacts, "alerts.png"), fullPage: true });
    await page.screenshot({ path: path.join(artifacts, "overview-alert.png"), fullPage: true });
    say({ step: "alert", kept, errors });
  } finally {
    await browser.close();
  }
})().catch((err) => {
  say({ step: "failed", error: String(err && err.stack || err) });
  process.exit(1);
});
