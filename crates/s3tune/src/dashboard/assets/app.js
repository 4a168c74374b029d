// The s3tune dashboard: the storage's studies, and one study followed live. It polls the
// JSON the binary serves (ETag: an unchanged study is a 304) and draws its views, the
// charts with charts.js.
"use strict";

const $ = (sel, el = document) => el.querySelector(sel);
const main = $("#main");
const tip = $("#tip");
const STATUSES = ["completed", "stopped", "running", "failed", "lost"];
const TABS = [["history", "History"], ["trials", "Trials"], ["parallel", "Parallel coordinates"],
  ["front", "Pareto front"], ["workers", "Workers"], ["compare", "Compare"]];
const state = {
  view: null, name: null, tab: "history", data: null, etag: null, timer: null, seq: 0, serverNow: Date.now(),
  sel: null, sort: { key: "id", up: false }, shown: new Set(STATUSES), page: 0, perPage: 100,
};
// Rows a page of the trial table shows: a table of thousands of rows takes the browser
// half a second to lay out, every time the study changes.
const PER_PAGE = [50, 100, 500, 0];

// ---- formatting -------------------------------------------------------------------------

const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function num(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || (a > 0 && a < 1e-3)) return v.toExponential(3);
  return v.toFixed(a >= 100 ? 1 : a >= 1 ? 3 : 4);
}

function bytes(b) {
  if (b === null || b === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return `${i ? b.toFixed(1) : b} ${units[i]}`;
}

// A knob's value as a person reads it: sizes in binary units.
function knob(name, v) {
  if (typeof v === "number" && /size|threshold|cutoff|chunk|memory_limit/.test(name) && v >= 1024) return bytes(v);
  return num(v);
}

// A measure's value in its own unit.
function measure(name, v) {
  if (v === undefined || v === null) return "—";
  if (name.endsWith("_bytes")) return bytes(v);
  if (name === "cost_usd") return `$${v.toFixed(7)}`;
  return num(v);
}

const ago = (ms) => {
  const s = Math.max(0, Math.round((state.serverNow - ms) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

// ---- data helpers -----------------------------------------------------------------------

// A trial's cost: its costliest run's (what limits judge).
function cost(t, name) {
  let worst;
  for (const m of t.metrics || []) if (m[name] !== undefined) worst = worst === undefined ? m[name] : Math.max(worst, m[name]);
  return worst;
}

// The measure names any trial of the study has, in a fixed order.
function measures(d) {
  const order = ["memory_bytes", "buffered_bytes", "cpu_seconds", "cores", "requests", "cost_usd"];
  const seen = new Set();
  for (const t of d.trials) for (const m of t.metrics || []) Object.keys(m).forEach((k) => seen.add(k));
  return order.filter((k) => seen.has(k));
}

const isTransfer = (d) => d.settings && d.settings.kind === "transfer";

// Each run's own seconds from a transfer trial's running means.
function runs(t) {
  return t.reports.map((m, i) => (i === 0 ? m : m * (i + 1) - t.reports[i - 1] * i));
}

const better = (d, a, b) => (d.mode === "max" ? a > b : a < b);

// ---- fetching ---------------------------------------------------------------------------

function setStatus(text, error) {
  const el = $("#status");
  el.textContent = text;
  el.className = error ? "error" : "";
}

// One polling loop at a time: a newer call (another page, another tab) ends the older.
async function poll() {
  clearTimeout(state.timer);
  const seq = ++state.seq;
  const view = state.view;
  const url = view === "study" ? `/api/studies/${encodeURIComponent(state.name)}` : "/api/studies";
  try {
    const r = await fetch(url, { headers: state.etag ? { "If-None-Match": state.etag } : {} });
    if (seq !== state.seq) return;
    const date = r.headers.get("Date");
    if (date) state.serverNow = Date.parse(date);
    if (r.status === 404 && view === "study") {
      state.data = null;
      state.etag = null;
      main.innerHTML = `<p class="message" id="gone">Study <b>${esc(state.name)}</b> is not in this storage (deleted?). <a href="#/">All studies</a></p>`;
      setStatus("");
    } else if (r.status === 304) {
      setStatus(`up to date ${new Date().toLocaleTimeString()}`);
      // Only the workers' "last heard from" moves with the clock alone.
      if (view === "study" && state.data && state.tab === "workers") render();
    } else if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      setStatus(`the storage answered with an error: ${body.error || r.status}`, true);
    } else {
      state.etag = r.headers.get("ETag");
      state.data = await r.json();
      setStatus(`updated ${new Date().toLocaleTimeString()}`);
      render();
    }
  } catch (e) {
    if (seq !== state.seq) return;
    setStatus("cannot reach the dashboard (stopped?); trying again", true);
  }
  state.timer = setTimeout(poll, view === "study" ? 1000 : 2000);
}

function route() {
  const m = location.hash.match(/^#\/study\/([^/]+)(?:\/(\w+))?/);
  const view = m ? "study" : "studies";
  const name = m ? decodeURIComponent(m[1]) : null;
  if (view !== state.view || name !== state.name) {
    Object.assign(state, { view, name, data: null, etag: null, sel: null, page: 0 });
    main.innerHTML = `<p class="empty">Loading…</p>`;
  }
  state.tab = (m && m[2]) || "history";
  if (state.data) render();
  poll();
}

// ---- views ------------------------------------------------------------------------------

function render() {
  if (state.view === "studies") renderStudies(state.data);
  else renderStudy(state.data);
}

function renderStudies(d) {
  $("#storage").textContent = d.storage;
  if (!d.studies.length) {
    main.innerHTML = `<p class="empty">No studies in this storage yet.</p>`;
    return;
  }
  const rows = d.studies.map((s) => `<tr data-study="${esc(s.study)}">
    <td class="text"><a href="#/study/${encodeURIComponent(s.study)}">${esc(s.study)}</a></td>
    <td class="text">${esc(s.metric)} ${esc(s.mode)}</td><td>${s.completed}</td><td>${s.running}</td>
    <td>${s.failed}</td><td>${s.lost}</td><td>${s.budget_trials ?? "—"}</td><td>${num(s.best)}</td>
    <td class="text">${esc(s.created)}</td></tr>`).join("");
  main.innerHTML = `<h1>Studies</h1><table id="studies"><thead><tr><th class="text">study</th>
    <th class="text">objective</th><th>done</th><th>running</th><th>failed</th><th>lost</th>
    <th>budget</th><th>best</th><th class="text">created</th></tr></thead><tbody>${rows}</tbody></table>`;
  main.querySelectorAll("tr[data-study]").forEach((tr) => tr.addEventListener("click", () => {
    location.hash = `#/study/${encodeURIComponent(tr.dataset.study)}`;
  }));
}

function summary(d) {
  const counts = STATUSES.map((s) => [s, d.trials.filter((t) => t.status === s).length])
    .filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(", ");
  const obj = [d.metric, ...d.also_minimize].join(", ");
  const limits = d.limits.map((c) => `${c.metric} ≤ ${measure(c.metric, c.max)}`).join(", ");
  const s = d.settings || {};
  const what = isTransfer(d) ? `${s.client} ${s.workload} of ${s.target} (${bytes(s.object_bytes)})` : "a script (--command)";
  const best = d.trials.find((t) => t.id === d.best);
  return `<h1>${esc(d.name)}</h1><div class="sub">${esc(what)} · ${d.also_minimize.length ? "minimize" : d.mode} ${esc(obj)}
    ${limits ? ` · limits ${esc(limits)}` : ""} · ${counts || "no trials yet"}
    ${best ? ` · best: trial ${best.id}, ${num(best.value)}` : ""}</div>`;
}

function renderStudy(d) {
  if (!d) return;
  tip.hidden = true;
  $("#storage").textContent = "";
  const tabs = TABS.filter(([k]) => (k !== "front" || d.also_minimize.length) && (k !== "compare" || d.compare));
  if (!tabs.some(([k]) => k === state.tab)) state.tab = "history";
  const base = `#/study/${encodeURIComponent(d.name)}`;
  const nav = tabs.map(([k, label]) => `<a href="${base}/${k}" class="${k === state.tab ? "on" : ""}" data-tab="${k}">${label}</a>`).join("");
  const body = { history, trials: trialTable, parallel, front, workers, compare }[state.tab](d);
  const scroll = $(".panel.view") ? $(".panel.view").scrollTop : 0;
  main.innerHTML = `${summary(d)}<nav class="tabs">${nav}</nav><div class="layout">
    <div class="panel view" id="view-${state.tab}">${body}</div>
    <div class="panel detail" id="detail">${detail(d)}</div></div>`;
  $(".panel.view").scrollTop = scroll;
  wire(d);
}

// Clicks and hovers on anything that names a trial.
function wire(d) {
  main.querySelectorAll("[data-trial]").forEach((el) => {
    const id = Number(el.dataset.trial);
    el.addEventListener("click", () => { state.sel = id; renderStudy(d); });
    el.addEventListener("mousemove", (e) => showTip(e, d, id));
    el.addEventListener("mouseleave", () => { tip.hidden = true; });
  });
  main.querySelectorAll("th[data-key]").forEach((th) => th.addEventListener("click", () => {
    const key = th.dataset.key;
    state.sort = { key, up: state.sort.key === key ? !state.sort.up : true };
    state.page = 0;
    renderStudy(d);
  }));
  main.querySelectorAll("input[data-status]").forEach((box) => box.addEventListener("change", () => {
    if (box.checked) state.shown.add(box.dataset.status); else state.shown.delete(box.dataset.status);
    state.page = 0;
    renderStudy(d);
  }));
  main.querySelectorAll("button[data-page]").forEach((b) => b.addEventListener("click", () => {
    state.page += Number(b.dataset.page);
    renderStudy(d);
  }));
  const per = $("#per-page");
  if (per) per.addEventListener("change", () => { state.perPage = Number(per.value); state.page = 0; renderStudy(d); });
}

function showTip(e, d, id) {
  const t = d.trials.find((x) => x.id === id);
  if (!t) return;
  const lines = [`trial ${t.id} · ${t.status} · ${d.metric} ${num(t.value)}`];
  for (const [k, v] of Object.entries(t.config)) lines.push(`${k} = ${knob(k, v)}`);
  tip.textContent = lines.join("\n");
  tip.hidden = false;
  tip.style.left = `${Math.min(e.clientX + 14, innerWidth - 380)}px`;
  tip.style.top = `${e.clientY + 14}px`;
}

function detail(d) {
  const t = d.trials.find((x) => x.id === state.sel);
  if (!t) return `<p class="empty">Click a trial to see its configuration, runs and costs.</p>`;
  const config = Object.entries(t.config).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(knob(k, v))}</dd>`).join("");
  const names = measures(d);
  const per = isTransfer(d) ? runs(t) : t.reports;
  const head = `<tr><th>${isTransfer(d) ? "run" : "step"}</th><th>${isTransfer(d) ? "seconds" : esc(d.metric)}</th>${names.map((n) => `<th>${esc(n)}</th>`).join("")}</tr>`;
  const rows = per.map((v, i) => `<tr><td>${i + 1}</td><td>${num(v)}</td>${names.map((n) => `<td>${measure(n, (t.metrics[i] || {})[n])}</td>`).join("")}</tr>`).join("");
  const took = t.finished ? `${((t.finished - t.started) / 1000).toFixed(1)} s` : `running, heartbeat ${ago(t.heartbeat)}`;
  return `<h2 id="detail-title">Trial ${t.id}</h2><dl>
    <dt>state</dt><dd class="status-${t.status}">${t.status}${t.feasible ? "" : " — over a limit"}</dd>
    <dt>${esc(d.metric)}</dt><dd>${num(t.value)}</dd><dt>worker</dt><dd>${esc(t.worker)}</dd>
    <dt>started</dt><dd>${new Date(t.started).toLocaleString()}</dd><dt>took</dt><dd>${took}</dd></dl>
    <h3>Configuration</h3><dl id="detail-config">${config}</dl>
    <h3>${isTransfer(d) ? "Runs" : "Reports"}</h3>${per.length ? `<table>${head}${rows}</table>` : `<p class="empty">none yet</p>`}
    ${t.error ? `<h3>Why it ended</h3><pre>${esc(t.error)}</pre>` : ""}
    ${isTransfer(d) ? `<div id="exports">${exportsOf(d, t)}</div>` : ""}`;
}

// A transfer trial's exports (best.toml, boto3.py, …), fetched once per trial and study
// version; the panel is drawn again when they arrive.
const exportsCache = {};
function exportsOf(d, t) {
  const key = `${d.name}/${t.id}`;
  const c = exportsCache[key];
  if (!c || (c.etag !== state.etag && !c.loading)) {
    exportsCache[key] = { ...(c || {}), loading: true };
    const done = (files) => {
      exportsCache[key] = { etag: state.etag, files };
      if (state.sel === t.id && state.data) renderStudy(state.data);
    };
    fetch(`/api/studies/${encodeURIComponent(d.name)}/exports/${t.id}`)
      .then((r) => (r.ok ? r.json() : [])).then(done).catch(() => done([]));
  }
  if (!c || !c.files) return `<p class="empty">Loading its exports…</p>`;
  return c.files.map((f) => `<h3>${esc(f.file)}</h3><pre class="export">${esc(f.text)}</pre>`).join("");
}

// ---- the trial table --------------------------------------------------------------------

function trialTable(d) {
  const params = d.params.map((p) => p.name);
  const names = measures(d);
  const cols = [["id", "#"], ["status", "state"], ["value", d.metric],
    ...params.map((p) => [`config.${p}`, p]), ...names.map((n) => [`cost.${n}`, n]),
    ["worker", "worker"], ["took", "seconds taken"]];
  const val = (t, key) => {
    if (key.startsWith("config.")) return t.config[key.slice(7)];
    if (key.startsWith("cost.")) return cost(t, key.slice(5));
    if (key === "took") return t.finished ? (t.finished - t.started) / 1000 : null;
    return t[key];
  };
  const { key, up } = state.sort;
  const shown = d.trials.filter((t) => state.shown.has(t.status)).sort((a, b) => {
    const x = val(a, key), y = val(b, key);
    if (x === y) return a.id - b.id;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * (up ? 1 : -1);
  });
  const pages = state.perPage ? Math.max(1, Math.ceil(shown.length / state.perPage)) : 1;
  state.page = Math.min(state.page, pages - 1);
  const first = state.page * state.perPage;
  const page = state.perPage ? shown.slice(first, first + state.perPage) : shown;
  const filters = STATUSES.map((s) => `<label><input type="checkbox" data-status="${s}" ${state.shown.has(s) ? "checked" : ""}> ${s}</label>`).join("");
  const sizes = PER_PAGE.map((n) => `<option value="${n}" ${n === state.perPage ? "selected" : ""}>${n || "all"}</option>`).join("");
  const range = shown.length ? `${first + 1}–${first + page.length} of ${shown.length}` : "0";
  const pager = `<span class="pager"><button data-page="-1" ${state.page ? "" : "disabled"}>‹</button>
    <span id="trials-range" data-total="${shown.length}">${range} trials</span>
    <button data-page="1" ${state.page < pages - 1 ? "" : "disabled"}>›</button>
    <label>rows <select id="per-page">${sizes}</select></label></span>`;
  const head = cols.map(([k, label]) => `<th data-key="${k}" class="${k === key ? `sorted${up ? " up" : ""}` : ""} ${["status", "worker"].includes(k) ? "text" : ""}">${esc(label)}</th>`).join("");
  const rows = page.map((t) => `<tr data-trial="${t.id}" class="${t.id === state.sel ? "selected" : ""}">
    <td>${t.id}${t.id === d.best ? " ★" : ""}</td><td class="text status-${t.status}">${t.status}${t.feasible ? "" : ' <span class="infeasible">over a limit</span>'}</td>
    <td>${num(t.value)}</td>${params.map((p) => `<td>${esc(knob(p, t.config[p]))}</td>`).join("")}
    ${names.map((n) => `<td>${measure(n, cost(t, n))}</td>`).join("")}
    <td class="text">${esc(t.worker)}</td><td>${num(val(t, "took"))}</td></tr>`).join("");
  return `<div class="filters">${filters}${pager}</div><table id="trials"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
    ${shown.length ? "" : `<p class="empty">No trials with these states.</p>`}`;
}

function workers(d) {
  if (!d.workers.length) return `<p class="empty">No worker has claimed a trial yet.</p>`;
  const rows = d.workers.map((w) => `<tr><td class="text">${esc(w.worker)}</td><td>${w.trials}</td><td>${w.running}</td>
    <td class="${w.lost ? "status-lost" : ""}">${w.lost}</td><td>${ago(w.last_seen)}</td></tr>`).join("");
  return `<table id="workers"><thead><tr><th class="text">worker</th><th>trials</th><th>running</th><th>lost</th><th>last heard from</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="sub">A worker's last sign of life is its latest heartbeat or finished trial; a trial whose worker stopped beating is marked lost and may be run again.</p>`;
}

window.addEventListener("hashchange", route);
route();
