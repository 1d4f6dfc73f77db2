import HTTPTypes

/// The live cluster dashboard (`GET /dashboard`, docs/operations.md "Dashboard"): one page, no
/// external assets; it reads `GET /v1/admin/cluster` and follows `/v1/admin/cluster/stream`.
///
/// Every value it shows carries `data-node`/`data-field`/`data-raw` attributes, and `<body>`
/// carries `data-state` and `data-snapshots`, for scripts/tests/check-dashboard.py.
enum DashboardPage {
    /// HTML with a policy that lets the page run only its own inline script and reach only
    /// this node.
    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            + "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ]

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Chorus · cluster</title>
<style>
:root { --bg: #0e1116; --panel: #161b22; --line: #262d37; --text: #d6dbe2; --muted: #8b949e;
  --up: #3fb950; --suspect: #d29922; --down: #f85149; --accent: #58a6ff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
header { display: flex; align-items: center; gap: 14px; padding: 14px 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 17px; margin: 0; font-weight: 600; }
h1 small { color: var(--muted); font-weight: 400; margin-left: 8px; }
.conn { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); }
.dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
body[data-state=live] .dot { background: var(--up); box-shadow: 0 0 6px var(--up); }
body[data-state=reconnecting] .dot { background: var(--suspect); }
body[data-state=unauthorised] .dot { background: var(--down); }
body:not([data-state=live]) main { opacity: .55; }
main { padding: 18px 24px; display: grid; gap: 16px; grid-template-columns: 300px minmax(0, 1fr) 320px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.wide { grid-column: 1 / -1; overflow-x: auto; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 10px; font-weight: 600; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 5px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; text-align: right; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
thead tr:first-child th { border-bottom: none; padding-bottom: 0; text-align: center; letter-spacing: .05em; }
th.l, td.l { text-align: left; }
tbody tr:hover { background: #1b2129; }
.group { border-left: 1px solid var(--line); }
.badge { display: inline-block; min-width: 62px; text-align: center; padding: 1px 8px; border-radius: 10px;
  font-size: 12px; font-weight: 600; }
.badge.up { color: var(--up); background: #3fb95022; } .badge.suspect { color: var(--suspect); background: #d2992222; }
.badge.down { color: var(--down); background: #f8514922; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; vertical-align: -1px; }
.muted { color: var(--muted); } .warn { color: var(--suspect); }
svg { display: block; width: 100%; height: auto; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 8px; font-size: 13px; }
.legend span { font-variant-numeric: tabular-nums; }
#login { position: fixed; inset: 0; background: #0e1116cc; display: flex; align-items: center; justify-content: center; }
#login[hidden] { display: none; }
#login form { width: 460px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 20px; }
#login textarea { width: 100%; height: 90px; margin: 10px 0; background: var(--bg); color: var(--text);
  border: 1px solid var(--line); border-radius: 6px; padding: 8px; font: 12px ui-monospace, Menlo, Consolas, monospace; }
button { background: var(--accent); color: #0e1116; border: 0; border-radius: 6px; padding: 7px 14px; font-weight: 600; cursor: pointer; }
</style>
</head>
<body data-state="loading" data-snapshots="0">
<header>
  <h1>Chorus <small>cluster dashboard</small></h1>
  <div class="conn"><span class="dot"></span><span id="conn-text">loading…</span></div>
</header>
<main>
  <section class="panel">
    <h2>Cluster</h2>
    <dl>
      <dt>Answering node</dt><dd data-field="answering_node" data-raw="">—</dd>
      <dt>Ring epoch</dt><dd data-field="ring_epoch" data-raw="">—</dd>
      <dt>Metadata term</dt><dd data-field="term" data-raw="">—</dd>
      <dt>Leader</dt><dd data-field="leader" data-raw="">—</dd>
      <dt>Role</dt><dd data-field="role" data-raw="">—</dd>
      <dt>Commit index</dt><dd data-field="commit_index" data-raw="">—</dd>
      <dt>Nodes up</dt><dd data-field="nodes_up" data-raw="">—</dd>
      <dt>Sessions</dt><dd data-field="total_sessions" data-raw="">—</dd>
      <dt>Messages/s</dt><dd data-field="total_messages_per_second" data-raw="">—</dd>
      <dt>Deliveries/s</dt><dd data-field="total_deliveries_per_second" data-raw="">—</dd>
      <dt>Updated</dt><dd id="updated" class="muted">—</dd>
    </dl>
  </section>
  <section class="panel">
    <h2>Throughput (last 60 snapshots)</h2>
    <svg id="chart" viewBox="0 0 640 220" role="img" aria-label="messages and deliveries per second"></svg>
    <div class="legend">
      <div><i class="swatch" style="background:var(--accent)"></i>messages/s <span id="chart-messages">—</span></div>
      <div><i class="swatch" style="background:var(--up)"></i>deliveries/s <span id="chart-deliveries">—</span></div>
    </div>
  </section>
  <section class="panel">
    <h2>Ring</h2>
    <svg id="ring" viewBox="0 0 220 220" role="img" aria-label="ring share per node" style="max-width:220px;margin:auto"></svg>
    <div class="legend" id="ring-legend"></div>
  </section>
  <section class="panel wide">
    <h2>Nodes</h2>
    <table>
      <thead>
        <tr><th colspan="5"></th><th colspan="2" class="group">ACTORS</th><th colspan="3" class="group">TRAFFIC</th>
          <th colspan="2" class="group">WAL</th><th colspan="6" class="group">REPLICATION (channels / users)</th></tr>
        <tr><th class="l">Node</th><th class="l">Status</th><th class="l">Self</th><th class="l">On ring</th><th>Ring share</th>
          <th class="group">Channels</th><th>Users</th><th class="group">Sessions</th><th>Msg/s</th><th>Deliv/s</th>
          <th class="group">Records</th><th>Rec/s</th><th class="group">Primaries</th><th>Backups</th>
          <th>Recovering</th><th>Lagging</th><th>Lag</th><th>Max lag</th></tr>
      </thead>
      <tbody id="nodes"></tbody>
    </table>
  </section>
</main>
<div id="login" hidden>
  <form id="login-form">
    <h2>Unauthorised</h2>
    <div>Paste a server token (a JWT) to read <code>/v1/admin/cluster</code>. It is kept in this tab only.</div>
    <div id="login-reason" class="warn"></div>
    <textarea id="login-token" spellcheck="false" autocomplete="off" placeholder="eyJhbGciOi…"></textarea>
    <button type="submit">Connect</button>
  </form>
</div>
<script>
"use strict";
const SNAPSHOT_URL = "/v1/admin/cluster";
const STREAM_URL = "/v1/admin/cluster/stream?interval_ms=1000";
const RETRY_MS = 2000;          // wait before reconnecting
const STALL_MS = 10000;         // no byte from the stream for this long: reconnect
const HISTORY = 60;             // snapshots in the chart
const MIN_WINDOW_MS = 250;      // a rate baseline is only replaced after this long (no spikes)
const TOKEN_KEY = "chorus.dashboard.token";
const DASH = "—";
const PALETTE = ["#58a6ff", "#3fb950", "#d29922", "#bc8cff", "#f778ba", "#39c5cf", "#ff7b72", "#a5d6ff", "#7ee787", "#e3b341"];
const STATE_TEXT = { loading: "loading…", live: "live", reconnecting: "reconnecting…",
  unauthorised: "unauthorised — paste a server token" };

const app = {
  token: null, generation: 0, controller: null, retryTimer: null, snapshots: 0,
  baselines: new Map(),  // node name -> {time, counters}: the snapshot rates are measured from
  rates: new Map(),      // node name -> {messages, deliveries, wal_records} per second
  colours: new Map(),    // node name -> colour, stable once given
  history: [],           // [{messages, deliveries}] cluster totals, oldest first
};

const $ = (id) => document.getElementById(id);
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const fmtInt = (v) => isNum(v) ? Math.round(v).toLocaleString("en-US") : DASH;
const fmtRate = (v) => !isNum(v) ? DASH : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US");
const rawRate = (v) => isNum(v) ? String(Math.round(v * 1000) / 1000) : null;

// ---- Token: the URL fragment (never sent to the server), else sessionStorage, else the form.
function readToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    storeToken(fromFragment);
    history.replaceState(null, "", location.pathname + location.search);  // out of the address bar
    return fromFragment;
  }
  try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
}
function storeToken(token) {
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage off: this load only */ }
}

function setState(name) {
  document.body.dataset.state = name;
  $("conn-text").textContent = STATE_TEXT[name];
  $("login").hidden = name !== "unauthorised";
}

// ---- Connection: one snapshot right away, then the stream; any failure retries in RETRY_MS.
class Unauthorised extends Error {}

async function request(url, signal) {
  const response = await fetch(url, { signal, cache: "no-store",
    headers: { "Authorization": "Bearer " + app.token } });
  if (response.status === 401 || response.status === 403) throw new Unauthorised("HTTP " + response.status);
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response;
}

async function connect() {
  const generation = ++app.generation;  // callbacks of older connections check this and stop
  clearTimeout(app.retryTimer);
  if (app.controller) app.controller.abort();
  const controller = app.controller = new AbortController();
  if (!app.token) return setState("unauthorised");
  try {
    const first = await request(SNAPSHOT_URL, controller.signal);
    const snapshot = await first.json();
    if (generation !== app.generation) return;
    render(snapshot);
    setState("live");
    const stream = await request(STREAM_URL, controller.signal);
    await follow(stream, controller, generation);
    throw new Error("the stream ended");
  } catch (error) {
    if (generation !== app.generation) return;
    controller.abort();
    if (error instanceof Unauthorised) {
      $("login-reason").textContent = "The server refused the token (" + error.message + ").";
      return setState("unauthorised");
    }
    console.warn("dashboard: " + error.message + "; reconnecting");
    setState("reconnecting");
    app.retryTimer = setTimeout(connect, RETRY_MS);
  }
}

// Reads `text/event-stream` frames (blank-line separated) and renders each `cluster` event.
async function follow(response, controller, generation) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", watchdog = 0;
  const arm = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), STALL_MS); };
  arm();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      arm();
      // CRLF -> LF on the whole buffer, so a CR and LF split across two chunks still pair up.
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (generation !== app.generation) return;
        if (event && (event.type === "cluster" || event.type === "message")) renderData(event.data);
      }
    }
  } finally {
    clearTimeout(watchdog);
  }
}

function parseFrame(frame) {
  let type = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;  // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { type, data: data.join("\n") } : null;
}

function renderData(text) {
  let snapshot;
  try { snapshot = JSON.parse(text); } catch (e) { console.warn("dashboard: a frame that is not JSON"); return; }
  render(snapshot);
}

// ---- Rendering
function render(snapshot) {
  const nodes = Array.isArray(snapshot.nodes) ? snapshot.nodes.filter((n) => n && typeof n.name === "string") : [];
  nodes.forEach((n) => colourOf(n.name));
  updateRates(snapshot.time_ms, nodes);
  renderCluster(snapshot, nodes);
  renderNodes(nodes);
  renderChart();
  renderRing(nodes, snapshot.ring_epoch);
  app.snapshots += 1;
  document.body.dataset.snapshots = String(app.snapshots);
}

// Rates: counter differences over `time_ms` differences, per node. A counter that went down
// (the node restarted) gives no rate until the next snapshot.
function updateRates(time, nodes) {
  let messages = 0, deliveries = 0, measured = false;
  for (const node of nodes) {
    const counters = node.counters, before = app.baselines.get(node.name);
    if (!counters || !isNum(time)) { app.rates.delete(node.name); continue; }
    if (!before) { app.baselines.set(node.name, { time, counters }); continue; }
    const elapsed = time - before.time;
    if (elapsed <= 0) continue;  // the same instant again: keep the rates shown
    const rates = {};
    for (const key of ["messages", "deliveries", "wal_records"]) {
      const delta = counters[key] - before.counters[key];
      rates[key] = isNum(delta) && delta >= 0 ? delta * 1000 / elapsed : null;
    }
    app.rates.set(node.name, rates);
    if (elapsed >= MIN_WINDOW_MS || rates.messages === null) app.baselines.set(node.name, { time, counters });
    messages += rates.messages || 0;
    deliveries += rates.deliveries || 0;
    measured = true;
  }
  for (const name of [...app.rates.keys()]) if (!nodes.some((n) => n.name === name)) app.rates.delete(name);
  if (measured) {
    app.history.push({ messages, deliveries });
    if (app.history.length > HISTORY) app.history.shift();
  }
}

function setField(element, raw, text) {
  element.dataset.raw = raw === null || raw === undefined ? "" : String(raw);
  element.textContent = text;
}
function field(selector, raw, text) {
  setField(document.querySelector('[data-field="' + selector + '"]:not([data-node])'), raw, text);
}

function renderCluster(snapshot, nodes) {
  const meta = snapshot.metadata || null;
  const text = (v) => v === null || v === undefined || v === "" ? DASH : String(v);
  field("answering_node", snapshot.node, text(snapshot.node));
  field("ring_epoch", snapshot.ring_epoch, text(snapshot.ring_epoch));
  field("term", meta && meta.term, meta ? text(meta.term) : DASH);
  field("leader", meta && meta.leader, meta ? text(meta.leader) : DASH);
  field("role", meta && meta.role, meta ? text(meta.role) : "single node");
  field("commit_index", meta && meta.commit_index, meta ? fmtInt(meta.commit_index) : DASH);
  const up = nodes.filter((n) => n.status === "up").length;
  field("nodes_up", up, up + " of " + nodes.length);
  const sessions = nodes.map((n) => n.counters && n.counters.sessions).filter(isNum);
  const total = sessions.reduce((a, b) => a + b, 0);
  field("total_sessions", sessions.length ? total : null, sessions.length ? fmtInt(total) : DASH);
  const last = app.history.length ? app.history[app.history.length - 1] : null;
  field("total_messages_per_second", rawRate(last && last.messages), fmtRate(last && last.messages));
  field("total_deliveries_per_second", rawRate(last && last.deliveries), fmtRate(last && last.deliveries));
  $("updated").textContent = isNum(snapshot.time_ms) ? new Date(snapshot.time_ms).toLocaleTimeString() : DASH;
}

function cell(tag, name, fieldName, raw, text, className) {
  const element = document.createElement(tag);
  element.dataset.node = name;
  if (fieldName) element.dataset.field = fieldName;
  if (className) element.className = className;
  setField(element, raw, text);
  return element;
}

function renderNodes(nodes) {
  const rows = nodes.map((node) => {
    const name = node.name, tr = document.createElement("tr");
    const c = node.counters || {}, rates = app.rates.get(name) || {}, rep = node.replication || null;
    const num = (v) => isNum(v) ? v : null;
    const bool = (v) => typeof v === "boolean" ? v : null;
    const yesNo = (v) => v === null ? DASH : v ? "yes" : "no";
    tr.dataset.node = name;
    const nameCell = cell("td", name, "name", name, name, "l");
    const swatch = document.createElement("i");
    swatch.className = "swatch";
    swatch.style.background = colourOf(name);
    nameCell.prepend(swatch);
    const status = typeof node.status === "string" ? node.status : null;
    const statusCell = cell("td", name, null, null, "", "l");
    statusCell.append(cell("span", name, "status", status, status || DASH, "badge " + (status || "")));
    const share = num(node.ring_share);
    const lag = num(rep && rep.lag_records);
    tr.append(nameCell, statusCell,
      cell("td", name, "self", bool(node.self), yesNo(bool(node.self)), "l" + (node.self ? "" : " muted")),
      cell("td", name, "on_ring", bool(node.on_ring), yesNo(bool(node.on_ring)), "l" + (node.on_ring === false ? " warn" : "")),
      cell("td", name, "ring_share", share, share === null ? DASH : (share * 100).toFixed(1) + "%"),
      cell("td", name, "channel_actors", num(node.channel_actors), fmtInt(node.channel_actors), "group"),
      cell("td", name, "user_actors", num(node.user_actors), fmtInt(node.user_actors)),
      cell("td", name, "sessions", num(c.sessions), fmtInt(c.sessions), "group"),
      cell("td", name, "messages_per_second", rawRate(rates.messages), fmtRate(rates.messages)),
      cell("td", name, "deliveries_per_second", rawRate(rates.deliveries), fmtRate(rates.deliveries)),
      cell("td", name, "wal_records", num(c.wal_records), fmtInt(c.wal_records), "group"),
      cell("td", name, "wal_records_per_second", rawRate(rates.wal_records), fmtRate(rates.wal_records)),
      pairCell(name, "primaries", rep && rep.primaries, "group"), pairCell(name, "backups", rep && rep.backups),
      cell("td", name, "recovering", num(rep && rep.recovering), fmtInt(rep && rep.recovering)),
      cell("td", name, "lagging", num(rep && rep.lagging), fmtInt(rep && rep.lagging)),
      cell("td", name, "lag_records", lag, fmtInt(lag), lag ? "warn" : ""),
      cell("td", name, "max_lag_records", num(rep && rep.max_lag_records), fmtInt(rep && rep.max_lag_records)));
    return tr;
  });
  $("nodes").replaceChildren(...rows);
}

// "channels / users" in one cell, each its own field (`primaries_channels`, `primaries_users`, …).
function pairCell(name, kind, counts, className) {
  const td = cell("td", name, null, null, "", className);
  const value = (key) => counts && isNum(counts[key]) ? counts[key] : null;
  td.append(cell("span", name, kind + "_channels", value("channels"), fmtInt(value("channels"))),
    document.createTextNode(counts ? " / " : ""),  // no replication: one "—"
    cell("span", name, kind + "_users", value("users"), counts ? fmtInt(value("users")) : ""));
  return td;
}

function colourOf(name) {
  if (!app.colours.has(name)) app.colours.set(name, PALETTE[app.colours.size % PALETTE.length]);
  return app.colours.get(name);
}

function svg(tag, attributes, text) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// A round upper bound for the chart's y axis (1, 2, 5 × 10^n).
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function renderChart() {
  const chart = $("chart"), W = 640, H = 220, left = 48, right = 8, top = 10, bottom = 22;
  const max = niceMax(Math.max(0, ...app.history.map((p) => Math.max(p.messages, p.deliveries))));
  const x = (i) => left + (W - left - right) * i / (HISTORY - 1);
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const parts = [];
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const v = max * fraction;
    parts.push(svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#262d37" }));
    parts.push(svg("text", { x: left - 8, y: y(v) + 4, "text-anchor": "end", fill: "#8b949e", "font-size": 11 },
      v >= 1000 ? (v / 1000) + "k" : String(Math.round(v * 100) / 100)));
  }
  parts.push(svg("text", { x: left, y: H - 4, fill: "#8b949e", "font-size": 11 }, "−60"),
    svg("text", { x: W - right, y: H - 4, fill: "#8b949e", "font-size": 11, "text-anchor": "end" }, "now"));
  const offset = HISTORY - app.history.length;  // newest point at the right edge
  const last = app.history[app.history.length - 1];
  for (const [key, colour] of [["deliveries", "#3fb950"], ["messages", "#58a6ff"]]) {
    const points = app.history.map((p, i) => x(offset + i).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
    if (points) parts.push(svg("polyline", { points, fill: "none", stroke: colour, "stroke-width": 2, "stroke-linejoin": "round" }));
    if (last) parts.push(svg("circle", { cx: x(HISTORY - 1), cy: y(last[key]), r: 3, fill: colour }));
  }
  chart.replaceChildren(...parts);
  $("chart-messages").textContent = fmtRate(last && last.messages);
  $("chart-deliveries").textContent = fmtRate(last && last.deliveries);
}

// The ring: one arc per node, its length the node's ring_share, over a grey track.
function renderRing(nodes, epoch) {
  const cx = 110, cy = 110, r = 84, width = 24, parts = [], cuts = [];
  // The point at fraction f of the way round (clockwise from 12 o'clock), at this radius.
  const point = (f, radius) =>
    [cx + radius * Math.sin(2 * Math.PI * f), cy - radius * Math.cos(2 * Math.PI * f)].map((v) => v.toFixed(2));
  parts.push(svg("circle", { cx, cy, r, fill: "none", stroke: "#262d37", "stroke-width": width }));
  let start = 0;
  for (const node of nodes) {
    const share = isNum(node.ring_share) ? Math.min(Math.max(node.ring_share, 0), 1 - start) : 0;
    if (share <= 0) continue;
    const colour = colourOf(node.name);
    if (share >= 0.9999) {
      parts.push(svg("circle", { cx, cy, r, fill: "none", stroke: colour, "stroke-width": width }));
    } else {
      const d = "M " + point(start, r).join(" ") + " A " + r + " " + r + " 0 " + (share > 0.5 ? 1 : 0) + " 1 "
        + point(start + share, r).join(" ");
      parts.push(svg("path", { d, fill: "none", stroke: colour, "stroke-width": width }));
      cuts.push(start, start + share);
    }
    start += share;
  }
  for (const f of cuts) {  // a thin gap where two arcs meet
    const [x1, y1] = point(f, r - width / 2 - 1), [x2, y2] = point(f, r + width / 2 + 1);
    parts.push(svg("line", { x1, y1, x2, y2, stroke: "#161b22", "stroke-width": 2 }));
  }
  parts.push(svg("text", { x: cx, y: cy - 2, "text-anchor": "middle", fill: "#d6dbe2", "font-size": 22, "font-weight": 600 },
    isNum(epoch) ? String(epoch) : DASH),
    svg("text", { x: cx, y: cy + 16, "text-anchor": "middle", fill: "#8b949e", "font-size": 11 }, "ring epoch"));
  $("ring").replaceChildren(...parts);
  const legend = nodes.map((node) => {
    const item = document.createElement("div"), swatch = document.createElement("i"), share = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colourOf(node.name);
    share.className = "muted";
    share.textContent = " " + (isNum(node.ring_share) ? (node.ring_share * 100).toFixed(1) + "%" : DASH)
      + (node.on_ring === false ? " (off ring)" : "");
    item.append(swatch, node.name, share);
    return item;
  });
  $("ring-legend").replaceChildren(...legend);
}

// ---- Start
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim().replace(/^Bearer\s+/i, "");
  if (!token) return;
  app.token = token;
  storeToken(token);
  $("login-token").value = "";
  setState("loading");
  connect();
});
app.token = readToken();
connect();
</script>
</body>
</html>
"""#
}
