// The s3tune dashboard's charts, drawn as SVG strings from a study's JSON: the history,
// parallel coordinates, the Pareto front and a comparison's bars. Loaded before app.js,
// whose helpers (esc, num, knob, measure, cost, state) they use when they are called.
"use strict";

const W = 760, H = 380, PAD = { l: 84, r: 16, t: 14, b: 40 };
const MIB = 1024 * 1024;

function scale(lo, hi, a, b, log) {
  if (log) { lo = Math.log(lo); hi = Math.log(hi); }
  if (hi === lo) { lo -= 1; hi += 1; }
  return (v) => a + ((log ? Math.log(v) : v) - lo) / (hi - lo) * (b - a);
}

function ticks(lo, hi, n = 5) {
  if (hi === lo) return [lo];
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
  const err = (hi - lo) / n / step;
  const s = step * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const out = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + s * 1e-9; v += s) out.push(v);
  return out;
}

function axes(x, y, xs, ys, xlabel, ylabel, fx = num, fy = num) {
  let g = `<line class="axis" x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}"/>`;
  g += `<line class="axis" x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}"/>`;
  for (const v of xs) g += `<text x="${x(v)}" y="${H - PAD.b + 15}" text-anchor="middle">${esc(fx(v))}</text>`;
  for (const v of ys) g += `<line class="grid" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}"/><text x="${PAD.l - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fy(v))}</text>`;
  g += `<text x="${(PAD.l + W - PAD.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(xlabel)}</text>`;
  g += `<text transform="translate(12 ${(PAD.t + H - PAD.b) / 2}) rotate(-90)" text-anchor="middle">${esc(ylabel)}</text>`;
  return g;
}

function history(d) {
  const pts = d.trials.filter((t) => t.value !== null);
  if (!pts.length) return `<p class="empty">No trial has a result yet.</p>`;
  const ids = d.trials.map((t) => t.id);
  const vals = pts.map((t) => t.value);
  const x = scale(Math.min(...ids), Math.max(...ids), PAD.l + 8, W - PAD.r - 8);
  const [lo, hi] = [Math.min(...vals), Math.max(...vals)];
  const y = scale(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05, H - PAD.b, PAD.t);
  let line = "";
  if (!d.also_minimize.length) {
    let best = null;
    const steps = [];
    for (const t of pts.filter((p) => p.feasible && p.status === "completed").sort((a, b) => a.id - b.id)) {
      if (best === null || better(d, t.value, best)) best = t.value;
      steps.push([x(t.id), y(best)]);
    }
    if (steps.length) {
      steps.push([x(Math.max(...ids)), steps[steps.length - 1][1]]);
      line = `<path class="bestline" d="M${steps.map((p, i) => (i ? `H${p[0]}V${p[1]}` : `${p[0]},${p[1]}`)).join("")}"/>`;
    }
  }
  const dots = pts.map((t) => `<circle class="pt ${t.id === d.best ? "best" : ""} ${t.feasible ? "" : "bad"} ${t.id === state.sel ? "sel" : ""}" data-trial="${t.id}" cx="${x(t.id)}" cy="${y(t.value)}" r="${t.id === d.best ? 6 : 4.5}"/>`).join("");
  const xt = ticks(Math.min(...ids), Math.max(...ids)).filter(Number.isInteger);
  return `<svg viewBox="0 0 ${W} ${H}" id="history-chart">${axes(x, y, xt, ticks(lo, hi), "trial", `${d.metric} (${d.mode})`)}${line}${dots}</svg>
    <p class="sub">Each trial's ${esc(d.metric)}; the line is the best so far${d.limits.length ? " among trials within the limits (red: over a limit)" : ""}. Hover a point for its configuration, click it for its runs.</p>`;
}

function parallel(d) {
  const axesList = d.params.filter((p) => p.kind !== "fixed").map((p) => ({ ...p, get: (t) => t.config[p.name] }));
  axesList.push({ name: d.metric, kind: "float", log: false, get: (t) => t.value });
  const done = d.trials.filter((t) => t.value !== null && axesList.every((a) => a.get(t) !== undefined));
  if (!done.length) return `<p class="empty">No trial has a result yet.</p>`;
  const top = PAD.t + 10, bottom = H - PAD.b;
  const gap = (W - 90) / Math.max(1, axesList.length - 1);
  const cols = axesList.map((a, i) => {
    const vals = done.map(a.get).filter((v) => v !== undefined);
    const numeric = vals.every((v) => typeof v === "number");
    if (!numeric) {
      const cats = [...new Set(vals.map(String))].sort();
      return { a, xpos: 45 + i * gap, y: (v) => scale(0, Math.max(1, cats.length - 1), bottom, top)(cats.indexOf(String(v))), lo: cats[0], hi: cats[cats.length - 1] };
    }
    const lo = Math.min(...vals), hi = Math.max(...vals);
    const log = a.log && lo > 0;
    return { a, xpos: 45 + i * gap, y: scale(lo, hi, bottom, top, log), lo, hi };
  });
  const vals = done.map((t) => t.value);
  const [vlo, vhi] = [Math.min(...vals), Math.max(...vals)];
  const color = (v) => {
    let q = vhi === vlo ? 0 : (v - vlo) / (vhi - vlo);
    if (d.mode === "max") q = 1 - q;
    return `hsl(${Math.round(215 - 190 * q)} 70% 45%)`;
  };
  const lines = done.map((t) => `<polyline class="pc ${t.id === state.sel ? "sel" : ""}" data-trial="${t.id}" stroke="${color(t.value)}" points="${cols.map((c) => `${c.xpos},${c.y(c.a.get(t))}`).join(" ")}"/>`).join("");
  const axisMarks = cols.map((c) => `<line class="axis" x1="${c.xpos}" x2="${c.xpos}" y1="${top}" y2="${bottom}"/>
    <text x="${c.xpos}" y="${bottom + 16}" text-anchor="middle">${esc(c.a.name)}</text>
    <text x="${c.xpos + 4}" y="${top - 2}">${esc(knob(c.a.name, c.hi))}</text><text x="${c.xpos + 4}" y="${bottom - 3}">${esc(knob(c.a.name, c.lo))}</text>`).join("");
  return `<svg viewBox="0 0 ${W} ${H}" id="parallel-chart">${lines}${axisMarks}</svg>
    <p class="sub">One line per trial with a result, through its knobs to its ${esc(d.metric)}; blue is better. Logarithmic knobs are drawn on a log scale.</p>`;
}

function front(d) {
  const second = d.also_minimize[0];
  const pts = d.trials.filter((t) => t.value !== null && cost(t, second) !== undefined);
  if (!pts.length) return `<p class="empty">No trial has both measures yet.</p>`;
  const xs = pts.map((t) => t.value), ys = pts.map((t) => cost(t, second));
  const x = scale(Math.min(...xs), Math.max(...xs), PAD.l + 8, W - PAD.r - 8);
  const y = scale(Math.min(...ys), Math.max(...ys), H - PAD.b - 8, PAD.t + 8);
  const on = pts.filter((t) => d.front.includes(t.id)).sort((a, b) => a.value - b.value);
  const path = on.length > 1 ? `<path class="bestline" d="M${on.map((t, i) => (i ? `H${x(t.value)}V${y(cost(t, second))}` : `${x(t.value)},${y(cost(t, second))}`)).join("")}"/>` : "";
  const dots = pts.map((t) => `<circle class="pt ${d.front.includes(t.id) ? "front" : ""} ${t.feasible ? "" : "bad"} ${t.id === state.sel ? "sel" : ""}" data-trial="${t.id}" cx="${x(t.value)}" cy="${y(cost(t, second))}" r="${t.id === d.best ? 7 : 4.5}"/>`).join("");
  const knee = on.find((t) => t.id === d.best);
  const mark = knee ? `<text x="${x(knee.value) + 9}" y="${y(cost(knee, second)) - 8}">knee (trial ${knee.id})</text>` : "";
  const fy = (v) => measure(second, v);
  const rows = on.map((t) => `<tr data-trial="${t.id}" class="${t.id === state.sel ? "selected" : ""}"><td>${t.id}${t.id === d.best ? " ★ knee" : ""}</td><td>${num(t.value)}</td><td>${measure(second, cost(t, second))}</td></tr>`).join("");
  // Bytes get round ticks in MiB.
  const unit = second.endsWith("_bytes") ? MIB : 1;
  const yt = ticks(Math.min(...ys) / unit, Math.max(...ys) / unit).map((v) => v * unit);
  return `<svg viewBox="0 0 ${W} ${H}" id="front-chart">${axes(x, y, ticks(Math.min(...xs), Math.max(...xs)), yt, d.metric, second, num, fy)}${path}${dots}${mark}</svg>
    <p class="sub">The front: trials no other trial beats in both. The knee is the best, whose exports s3tune writes (<code>s3tune report ${esc(d.name)} --pick N</code> writes another's).</p>
    <table id="front-table"><thead><tr><th>trial</th><th>${esc(d.metric)}</th><th>${esc(second)}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// `s3tune compare`'s result, which each of its clients' studies keeps: MB/s of every
// client's defaults, best no-search rule and tuned best, the runs' range as whiskers.
function compare(d) {
  const c = d.compare;
  const SERIES = [["defaults", "defaults", "#9aa0a6"], ["auto", "best no-search rule", "#f28e2b"], ["tuned", "tuned (race)", "#2e6bd6"]];
  const mbps = (s) => c.object_bytes / s / 1e6;
  const runsOf = (cl, k) => { const r = cl[k]; return r ? (k === "tuned" ? r.race_runs || [r.trial_seconds] : r.runs || [r.seconds]).filter((v) => v) : []; };
  const bar = (cl, k) => {
    const r = cl[k], rs = runsOf(cl, k);
    if (!r || !r.seconds) return null;
    return { v: mbps(r.seconds), lo: mbps(Math.max(...rs)), hi: mbps(Math.min(...rs)), n: rs.length };
  };
  const bars = c.clients.map((cl) => SERIES.map(([k]) => bar(cl, k)));
  const top = Math.max(c.link_mbps || 0, ...bars.flat().filter(Boolean).map((b) => b.hi)) * 1.08;
  const y = scale(0, top, H - PAD.b, PAD.t);
  const group = (W - PAD.l - PAD.r) / c.clients.length, bw = Math.min(group / 4, 48);
  let g = axes(() => 0, y, [], ticks(0, top), "", "MB/s (whiskers: the runs' range)");
  c.clients.forEach((cl, i) => {
    const x0 = PAD.l + (i + 0.5) * group - 1.5 * bw;
    bars[i].forEach((b, j) => {
      if (!b) return;
      const x = x0 + j * bw;
      g += `<rect class="bar" data-series="${SERIES[j][0]}" x="${x}" y="${y(b.v)}" width="${bw - 3}" height="${y(0) - y(b.v)}" fill="${SERIES[j][2]}"><title>${esc(cl.client)} ${SERIES[j][1]}: ${b.v.toFixed(1)} MB/s over ${b.n} run(s)</title></rect>`;
      if (b.n > 1) g += `<path class="whisker" d="M${x + bw / 2 - 1.5},${y(b.lo)}V${y(b.hi)}M${x + bw / 2 - 6},${y(b.lo)}h9M${x + bw / 2 - 6},${y(b.hi)}h9"/>`;
    });
    g += `<text x="${x0 + 1.5 * bw}" y="${H - PAD.b + 15}" text-anchor="middle">${esc(cl.client)}</text>`;
  });
  if (c.link_mbps) g += `<line class="link" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(c.link_mbps)}" y2="${y(c.link_mbps)}"/><text x="${W - PAD.r - 4}" y="${y(c.link_mbps) - 4}" text-anchor="end">emulated link ${c.link_mbps.toFixed(0)} MB/s</text>`;
  const legend = SERIES.map(([, label, color]) => `<span class="key"><i style="background:${color}"></i>${label}</span>`).join("");
  const fmt = (cl, k) => { const b = bar(cl, k); return b ? `${b.v.toFixed(1)}` : "—"; };
  const rows = c.clients.map((cl) => `<tr><td class="text"><a href="#/study/${encodeURIComponent(cl.study)}">${esc(cl.client)}</a></td>
    <td>${fmt(cl, "defaults")}</td><td>${fmt(cl, "auto")}${cl.auto ? ` (${esc(cl.auto.rule)})` : ""}</td><td>${fmt(cl, "tuned")}</td>
    <td>${cl.speedup_over_reference ? `${cl.speedup_over_reference.toFixed(2)}× [${cl.speedup_ci95.map((v) => v.toFixed(2)).join(", ")}]` : "—"}</td>
    <td class="text">${cl.tuned ? esc(Object.entries(cl.tuned.config).map(([k, v]) => `${k}=${knob(k, v)}`).join(" ")) : "—"}</td></tr>`).join("");
  const ref = c.reference ? `Speedups over ${esc(c.reference.client)} at ${esc(c.reference.what)} (the slowest defaults), with their 95 % interval from the race` : "No race was run";
  return `<p class="sub">The ${esc(c.workload)} of ${esc(c.target)} (${bytes(c.object_bytes)})${c.network ? ` · ${esc(c.network)}` : ""}</p>
    <div class="legend">${legend}</div><svg viewBox="0 0 ${W} ${H}" id="compare-chart">${g}</svg>
    <table id="compare-table"><thead><tr><th class="text">client</th><th>defaults MB/s</th><th>best rule MB/s</th><th>tuned MB/s</th><th>speedup</th><th class="text">best configuration</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="sub">${ref}. Each client's name opens its study.</p>`;
}
