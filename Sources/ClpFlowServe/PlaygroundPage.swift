/// The playground served at `/`: one self-contained HTML page (no external scripts, styles or
/// fonts). It reads the run from `GET /v1/run` and generates through `POST /v1/generate`.
///
/// Elements the browser test relies on: `#weights` (the weighting control: `#w-slider` for two
/// rewards, `#triangle` for three, one `.w-slider` per reward beyond), `#gen-current` (generations
/// at the current weighting; `data-state` is `done` once rendered, `data-weights` the weighting
/// shown), `.gen-extreme` (generations at each vertex), `#front` (the Pareto fronts) and
/// `#front-marker` (the evaluated weighting nearest to the current one).
enum PlaygroundPage {
    static let html = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clp-flow playground</title>
<style>
  :root { --ink: #1d2430; --muted: #5b6575; --line: #d8dde5; --accent: #1f6feb; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fff; }
  header { padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--bg); display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .sub { color: var(--muted); }
  main { display: grid; grid-template-columns: 360px 1fr; gap: 20px; padding: 16px 20px; }
  section h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 14px 0 6px; }
  textarea { width: 100%; font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; resize: vertical; }
  select, input[type=number] { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; }
  .row { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
  .row label { color: var(--muted); }
  input[type=number] { width: 78px; }
  #w-slider, .w-slider, #kl-slider { width: 100%; }
  .wlabels { display: flex; justify-content: space-between; font-variant-numeric: tabular-nums; }
  .wlabels b { color: var(--accent); }
  #triangle { width: 100%; height: auto; cursor: crosshair; user-select: none; }
  #triangle .tri { fill: #eef3fb; stroke: #9fb3cf; }
  #triangle .dot { fill: var(--accent); stroke: #fff; stroke-width: 2; }
  button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  #status { color: var(--muted); min-height: 1.4em; }
  #status.error { color: #b42318; }
  .gens { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); }
  .gencol { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: #fff; }
  .gencol.current { border-color: var(--accent); box-shadow: 0 0 0 2px #1f6feb22; }
  .gencol h3 { margin: 0 0 6px; font-size: 13px; }
  .gencol h3 small { color: var(--muted); font-weight: normal; }
  .gen { border-top: 1px dashed var(--line); padding: 6px 0; }
  .gen:first-of-type { border-top: 0; }
  .gen .text { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
  .gen .meta { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
  #front { width: 100%; max-width: 720px; height: auto; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
  #front text { font-size: 11px; fill: var(--muted); }
  .legend { display: flex; gap: 14px; flex-wrap: wrap; color: var(--muted); font-size: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; }
</style>
</head>
<body>
<header><h1>clp-flow playground</h1><span class="sub" id="runname">loading the run…</span></header>
<main>
  <section>
    <h2>Input</h2>
    <textarea id="input" rows="6" placeholder="A document to summarise"></textarea>
    <div class="row"><label for="reference">Reference summary (scores ROUGE rewards; optional)</label></div>
    <textarea id="reference" rows="2" placeholder="optional"></textarea>
    <h2>Method</h2>
    <div class="row"><select id="method"></select><span id="methodinfo" class="sub"></span></div>
    <h2>Weighting</h2>
    <div id="weights"></div>
    <div id="klbox" hidden>
      <h2>KL weight α</h2>
      <input type="range" id="kl-slider" min="0" max="1000" value="500">
      <div class="wlabels"><span id="kl-min"></span><b id="kl-value"></b><span id="kl-max"></span></div>
    </div>
    <h2>Sampling</h2>
    <div class="row">
      <label>samples <input type="number" id="samples" min="1" value="2"></label>
      <label>temperature <input type="number" id="temperature" min="0" step="0.1" value="0.7"></label>
    </div>
    <div class="row">
      <label>max tokens <input type="number" id="maxtokens" min="1" value="24"></label>
      <label>seed <input type="number" id="seed" min="0" value="0"></label>
    </div>
    <div class="row"><button id="go">Generate</button><span id="status"></span></div>
  </section>
  <section>
    <h2>Generations</h2>
    <div class="gens" id="gens"></div>
    <h2>Pareto front</h2>
    <div class="legend" id="legend"></div>
    <svg id="front" viewBox="0 0 640 400" role="img" aria-label="Pareto fronts"></svg>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a7ea4"];
let RUN = null;
let weights = [];
let requestCounter = 0;
let extremesKey = "";

function fmt(x, d) { return (x === null || x === undefined || !isFinite(x)) ? "—" : Number(x).toFixed(d); }
function wText(w) { return w.map((x) => x.toFixed(2)).join(","); }
function method() { return RUN.methods.find((m) => m.name === $("method").value); }
function alpha() {
  const m = method();
  if (!m || !m.takes_kl) return null;
  const [lo, hi] = klRange();
  const t = Number($("kl-slider").value) / 1000;
  return Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo)));
}
function klRange() {
  const r = RUN.kl.range;
  return r ? [r.min, r.max] : [RUN.kl.alpha / 10, RUN.kl.alpha * 10];
}
function setStatus(text, isError) { const s = $("status"); s.textContent = text; s.className = isError ? "error" : ""; }

// ---- weighting controls (always on the simplex) ----
function buildWeightControl() {
  const m = RUN.reward_names.length, box = $("weights");
  box.innerHTML = "";
  weights = Array(m).fill(1 / m);
  if (m === 1) { box.textContent = "One reward: the weight is 1."; return; }
  if (m === 2) {
    const s = document.createElement("input");
    s.type = "range"; s.id = "w-slider"; s.min = "0"; s.max = "1000"; s.value = "500";
    const labels = document.createElement("div"); labels.className = "wlabels"; labels.id = "w-labels";
    box.append(s, labels);
    s.addEventListener("input", () => { const a = Number(s.value) / 1000; setWeights([a, 1 - a]); });
    drawWeightLabels();
    return;
  }
  if (m === 3) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.id = "triangle"; svg.setAttribute("viewBox", "0 0 320 290");
    const V = [[160, 22], [22, 262], [298, 262]];
    const tri = document.createElementNS(NS, "polygon");
    tri.setAttribute("class", "tri"); tri.setAttribute("points", V.map((p) => p.join(",")).join(" "));
    svg.append(tri);
    RUN.reward_names.forEach((n, i) => {
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", V[i][0]); t.setAttribute("y", i === 0 ? 14 : 282);
      t.setAttribute("text-anchor", i === 0 ? "middle" : (i === 1 ? "start" : "end"));
      t.textContent = n; svg.append(t);
    });
    const dot = document.createElementNS(NS, "circle");
    dot.setAttribute("class", "dot"); dot.setAttribute("r", "8"); dot.id = "tri-dot";
    svg.append(dot);
    const labels = document.createElement("div"); labels.className = "wlabels"; labels.id = "w-labels";
    box.append(svg, labels);
    svg.__vertices = V;
    let dragging = false;
    const pick = (ev) => {
      const r = svg.getBoundingClientRect();
      const x = (ev.clientX - r.left) * 320 / r.width, y = (ev.clientY - r.top) * 290 / r.height;
      setWeights(barycentric(V, x, y));
    };
    svg.addEventListener("pointerdown", (ev) => { dragging = true; pick(ev); });
    svg.addEventListener("pointermove", (ev) => { if (dragging) pick(ev); });
    window.addEventListener("pointerup", () => { dragging = false; });
    drawWeightLabels();
    return;
  }
  RUN.reward_names.forEach((n, i) => {
    const row = document.createElement("div"); row.className = "row";
    const s = document.createElement("input");
    s.type = "range"; s.className = "w-slider"; s.min = "0"; s.max = "1000"; s.value = String(Math.round(1000 / m));
    s.dataset.index = String(i);
    s.addEventListener("input", () => {
      const a = Math.min(1, Number(s.value) / 1000), rest = 1 - a;
      const others = weights.reduce((t, w, j) => t + (j === i ? 0 : w), 0);
      setWeights(weights.map((w, j) => j === i ? a : (others > 0 ? w / others * rest : rest / (m - 1))));
    });
    const l = document.createElement("label"); l.textContent = n;
    row.append(l, s); box.append(row);
  });
  const labels = document.createElement("div"); labels.className = "wlabels"; labels.id = "w-labels";
  box.append(labels);
  drawWeightLabels();
}

function barycentric(V, x, y) {
  const [a, b, c] = V;
  const det = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
  let l1 = ((b[1] - c[1]) * (x - c[0]) + (c[0] - b[0]) * (y - c[1])) / det;
  let l2 = ((c[1] - a[1]) * (x - c[0]) + (a[0] - c[0]) * (y - c[1])) / det;
  let l3 = 1 - l1 - l2;
  const w = [l1, l2, l3].map((v) => Math.max(0, v));
  const s = w[0] + w[1] + w[2];
  return w.map((v) => v / s);
}

function setWeights(w) {
  // Round to 3 decimals and put the remainder on the largest weight: the sum stays exactly 1.
  const r = w.map((v) => Math.round(v * 1000) / 1000);
  const big = r.indexOf(Math.max(...r));
  r[big] = Math.round((1 - r.reduce((t, v, j) => t + (j === big ? 0 : v), 0)) * 1000) / 1000;
  weights = r;
  drawWeightLabels();
  drawFront();
  scheduleCurrent();
}

function drawWeightLabels() {
  const l = $("w-labels");
  if (l) l.innerHTML = RUN.reward_names.map((n, i) => `<span>${escapeHtml(n)} <b>${weights[i].toFixed(2)}</b></span>`).join("");
  const m = RUN.reward_names.length;
  if (m === 2) $("w-slider").value = String(Math.round(weights[0] * 1000));
  if (m === 3) {
    const V = $("triangle").__vertices, d = $("tri-dot");
    d.setAttribute("cx", weights[0] * V[0][0] + weights[1] * V[1][0] + weights[2] * V[2][0]);
    d.setAttribute("cy", weights[0] * V[0][1] + weights[1] * V[1][1] + weights[2] * V[2][1]);
  }
  if (m > 3) document.querySelectorAll(".w-slider").forEach((s) => { s.value = String(Math.round(weights[Number(s.dataset.index)] * 1000)); });
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// ---- generation ----
function body(w) {
  const b = {
    input: $("input").value, method: $("method").value, weights: w,
    samples: Number($("samples").value), temperature: Number($("temperature").value),
    max_new_tokens: Number($("maxtokens").value), seed: Number($("seed").value),
  };
  const a = alpha(); if (a !== null) b.kl = a;
  const ref = $("reference").value.trim(); if (ref) b.reference = ref;
  return b;
}

async function post(w) {
  const r = await fetch("/v1/generate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body(w)) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
  return j;
}

function column(id, cls, title, subtitle) {
  let c = $(id);
  if (!c) {
    c = document.createElement("div"); c.id = id; c.className = "gencol " + cls;
    $("gens").append(c);
  }
  c.innerHTML = `<h3>${escapeHtml(title)} <small>${escapeHtml(subtitle)}</small></h3><div class="body">…</div>`;
  c.dataset.state = "loading";
  return c;
}

function render(c, result) {
  const names = result.reward_names;
  c.querySelector(".body").innerHTML = result.generations.map((g) => {
    const scores = names.map((n) => `${escapeHtml(n)} ${fmt(g.scores[n], 3)}`).join(" · ");
    return `<div class="gen"><div class="text">${escapeHtml(g.text) || "<i>(empty)</i>"}</div>` +
      `<div class="meta">${scores} · log p ${fmt(g.log_prob, 2)} · ${g.tokens} tokens</div></div>`;
  }).join("") + `<div class="meta">${result.generated_tokens} tokens in ${fmt(result.elapsed_ms, 0)} ms</div>`;
  c.dataset.weights = wText(result.weights);
  c.dataset.state = "done";
}

let timer = null;
function scheduleCurrent() { clearTimeout(timer); timer = setTimeout(generateCurrent, 250); }

async function generateCurrent() {
  if (!RUN || !$("input").value.trim()) return;
  const mine = ++requestCounter, w = weights.slice();
  const c = column("gen-current", "current", "current weighting", "w = (" + wText(w) + ")" + (alpha() !== null ? " α = " + alpha().toPrecision(3) : ""));
  setStatus("generating…");
  try {
    const result = await post(w);
    if (mine !== requestCounter) return;  // a newer weighting is on its way
    render(c, result);
    setStatus("");
  } catch (e) {
    if (mine !== requestCounter) return;
    c.querySelector(".body").textContent = "error: " + e.message;
    c.dataset.state = "error";
    setStatus(e.message, true);
  }
}

async function generateExtremes() {
  const m = RUN.reward_names.length;
  const key = JSON.stringify([body([]), m]);
  if (key === extremesKey) return;
  extremesKey = key;
  document.querySelectorAll(".gen-extreme").forEach((e) => e.remove());
  if (m < 2) return;
  for (let i = 0; i < m; i++) {
    const w = Array(m).fill(0); w[i] = 1;
    const c = column("gen-extreme-" + i, "gen-extreme", "only " + RUN.reward_names[i], "w = (" + wText(w) + ")");
    try { render(c, await post(w)); } catch (e) { c.querySelector(".body").textContent = "error: " + e.message; c.dataset.state = "error"; }
    if (key !== extremesKey) return;
  }
}

function generateAll() { generateCurrent(); generateExtremes(); }

// ---- Pareto front ----
function drawFront() {
  const svg = $("front"), m = RUN.reward_names.length;
  const W = 640, H = 400, L = 56, R = 16, T = 16, B = 44;
  const axes = m >= 2 ? [0, 1] : null;
  const pts = [];
  RUN.methods.forEach((meth, k) => meth.front.forEach((p) => {
    const x = axes ? p.rewards[0] : p.kl, y = axes ? p.rewards[1] : p.rewards[0];
    if (isFinite(x) && isFinite(y)) pts.push({ k, meth, p, x, y });
  }));
  $("legend").innerHTML = RUN.methods.map((meth, k) => `<span><i style="background:${PALETTE[k % PALETTE.length]}"></i>${escapeHtml(meth.label)}${meth.front.length ? "" : " (not evaluated)"}</span>`).join("");
  if (!pts.length) { svg.innerHTML = `<text x="20" y="30">no evaluation in this run yet</text>`; return; }
  let [x0, x1] = [Math.min(...pts.map((q) => q.x)), Math.max(...pts.map((q) => q.x))];
  let [y0, y1] = [Math.min(...pts.map((q) => q.y)), Math.max(...pts.map((q) => q.y))];
  const padx = (x1 - x0) * 0.08 || 0.05, pady = (y1 - y0) * 0.08 || 0.05;
  x0 -= padx; x1 += padx; y0 -= pady; y1 += pady;
  const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  let out = `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#d8dde5"/>`;
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    out += `<text x="${sx(xv)}" y="${H - B + 14}" text-anchor="middle">${xv.toFixed(2)}</text>`;
    out += `<text x="${L - 6}" y="${sy(yv) + 4}" text-anchor="end">${yv.toFixed(2)}</text>`;
  }
  const xl = axes ? RUN.reward_names[0] : "KL(π‖π_ref)", yl = axes ? RUN.reward_names[1] : RUN.reward_names[0];
  out += `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${escapeHtml(xl)} →</text>`;
  out += `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yl)} →</text>`;
  const sel = method();
  RUN.methods.forEach((meth, k) => {
    const mine = pts.filter((q) => q.k === k);
    const col = PALETTE[k % PALETTE.length];
    if (m === 2 && mine.length > 1) {
      const line = mine.slice().sort((a, b) => a.p.weights[0] - b.p.weights[0]).map((q) => `${sx(q.x)},${sy(q.y)}`).join(" ");
      out += `<polyline points="${line}" fill="none" stroke="${col}" stroke-opacity="${meth === sel ? 0.9 : 0.35}" stroke-width="${meth === sel ? 2 : 1}"/>`;
    }
    mine.forEach((q) => {
      out += `<circle cx="${sx(q.x)}" cy="${sy(q.y)}" r="${meth === sel ? 4.5 : 3}" fill="${col}" fill-opacity="${meth === sel ? 1 : 0.45}"><title>${escapeHtml(meth.label)} w=(${wText(q.p.weights)})${q.p.alpha ? " α=" + q.p.alpha.toPrecision(3) : ""}</title></circle>`;
    });
  });
  // The evaluated weighting of the selected method nearest to the current one.
  const a = alpha();
  let best = null, bestD = Infinity;
  pts.filter((q) => q.meth === sel).forEach((q) => {
    let d = q.p.weights.reduce((t, v, i) => t + (v - weights[i]) ** 2, 0);
    if (a !== null && q.p.alpha) d += (Math.log(q.p.alpha) - Math.log(a)) ** 2;
    if (d < bestD) { bestD = d; best = q; }
  });
  if (best) {
    out += `<circle id="front-marker" data-weights="${wText(best.p.weights)}" cx="${sx(best.x)}" cy="${sy(best.y)}" r="10" fill="none" stroke="#111" stroke-width="2"/>`;
    out += `<text x="${sx(best.x) + 13}" y="${sy(best.y) - 9}" style="fill:#111">current ≈ w=(${wText(best.p.weights)})</text>`;
  }
  svg.innerHTML = out;
}

// ---- start ----
async function start() {
  try {
    const r = await fetch("/v1/run");
    RUN = await r.json();
  } catch (e) { setStatus("cannot read /v1/run: " + e.message, true); return; }
  $("runname").textContent = `run “${RUN.workflow}” · rewards: ${RUN.reward_names.join(", ")}`;
  RUN.methods.forEach((m) => {
    const o = document.createElement("option"); o.value = m.name; o.textContent = m.label; $("method").append(o);
  });
  $("samples").max = RUN.limits.max_samples; $("maxtokens").max = RUN.limits.max_new_tokens;
  $("maxtokens").value = Math.min(24, RUN.limits.max_new_tokens);
  if (RUN.example) { $("input").value = RUN.example.input; $("reference").value = RUN.example.reference; }
  const [lo, hi] = klRange();
  $("kl-min").textContent = lo.toPrecision(2); $("kl-max").textContent = hi.toPrecision(2);
  const onMethod = () => {
    const m = method();
    $("klbox").hidden = !m.takes_kl;
    $("methodinfo").textContent = `${m.forward_passes_per_token} forward pass${m.forward_passes_per_token > 1 ? "es" : ""} per token`;
    $("kl-value").textContent = m.takes_kl ? "α = " + alpha().toPrecision(3) : "";
    drawFront(); generateAll();
  };
  $("method").addEventListener("change", onMethod);
  $("kl-slider").addEventListener("input", () => { $("kl-value").textContent = "α = " + alpha().toPrecision(3); drawFront(); scheduleCurrent(); extremesKey = ""; clearTimeout(window.__ex); window.__ex = setTimeout(generateExtremes, 400); });
  for (const id of ["input", "reference", "samples", "temperature", "maxtokens", "seed"]) {
    $(id).addEventListener("change", generateAll);
  }
  $("go").addEventListener("click", generateAll);
  buildWeightControl();
  onMethod();
}
start();
</script>
</body>
</html>
"""#
}
