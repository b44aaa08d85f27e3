// The Spillway console: reads /console/api/federation (this gateway and its peers) every second and
// draws the pages from it; actions go to the center's admin API (docs/admin-api.md) and show its answer.
// No framework and nothing fetched from elsewhere: this file, console.css and index.html are the console.
import { lineChart } from './chart.js';

const POLL_MS = 1000;
const ENDED = new Set(['RELEASED', 'EXPIRED', 'REVOKED', 'REFUSED']);
const state = {
  token: sessionStorage.getItem('spillway.console.token') || '',
  access: null,          // {authentication, role, notice} from /console/api/whoami
  self: null,            // this gateway's /console/api/self
  federation: null,      // the last /console/api/federation answer
  drains: new Map(),     // lease id -> {reason, startedAt, seen: [states]} for revokes ordered here
  page: 'overview',
};

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  }
  return e;
};

const GIB = 1024 ** 3;
const gib = (b) => `${(b / GIB).toFixed(b % GIB === 0 ? 0 : 1)} GiB`;
const pct = (x) => `${Math.round(x * 100)}%`;
const shortId = (id) => (id.length > 14 ? `${id.slice(0, 14)}…` : id);
const isAdmin = () => state.access && state.access.role === 'admin';

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  if (state.token) h.Authorization = `Bearer ${state.token}`;
  return h;
}

async function getJson(path) {
  const r = await fetch(path, { headers: headers() });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw Object.assign(new Error(body && body.message ? body.message : `${path}: ${r.status}`), { status: r.status, body });
  return body;
}

// ---- access: the signed-in token's role, as the gateway's whoami reports it (docs/console.md) ----

async function authenticate() {
  try {
    state.access = await getJson('/console/api/whoami');
  } catch (e) {
    if (e.status === 401) {
      state.access = null;
      $('#app').hidden = true;
      $('#token-form').hidden = false;
      $('#token-error').textContent = state.token ? e.message : '';
      return false;
    }
    throw e;
  }
  $('#token-form').hidden = true;
  $('#app').hidden = false;
  const banner = $('#auth-banner');
  banner.hidden = false;
  banner.className = `banner ${isAdmin() ? '' : 'readonly'}`;
  banner.textContent = state.access.authentication === 'none'
    ? `Open console: ${state.access.notice}.`
    : `Signed in as ${state.access.role}${isAdmin() ? '' : ' (actions hidden)'}. ${state.access.notice}.`;
  $('#who').textContent = `role: ${state.access.role}`;
  document.body.classList.toggle('read-only', !isAdmin());
  return true;
}

$('#token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem('spillway.console.token', state.token);
  if (await authenticate()) refresh();
});

// ---- pages ----

function showPage() {
  state.page = (location.hash || '#overview').slice(1);
  for (const p of document.querySelectorAll('.page')) p.hidden = p.id !== `page-${state.page}`;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === state.page);
}
window.addEventListener('hashchange', () => { showPage(); refresh(); });

const gateways = () => (state.federation ? state.federation.gateways : []);
const centers = () => gateways().filter((g) => g.kind === 'center' && g.up);
function allLeases() {
  // Every center replica follows the same lease log: the first one that answers is enough.
  const c = centers()[0];
  return c ? c.leases : null;
}

function renderOverview() {
  const root = $('#page-overview');
  root.replaceChildren();
  const leases = allLeases() || [];
  for (const g of gateways()) {
    const name = g.name || g.url;
    const box = el('div', { class: `gateway ${g.up ? '' : 'down'}`, dataset: { gateway: name } },
      el('h2', {}, `${name} `, el('span', { class: 'muted' }, g.up ? `${g.kind} · pool ${g.poolName}` : 'unreachable')));
    if (!g.up) {
      box.append(el('p', { class: 'error' }, `${g.url}: ${g.error}`));
      root.append(box);
      continue;
    }
    const facts = el('div', { class: 'facts' });
    for (const n of g.pool.nodes) {
      facts.append(el('span', { class: 'node', dataset: { node: n.id } }, `node ${n.id} `, el('span', { class: `badge ${n.state}` }, n.state)));
    }
    const t = g.pool.totals;
    facts.append(el('span', {}, `cards ${t.cardsUp}/${t.cards} up · free ${gib(t.memoryFreeBytes)}`));
    if (g.kind === 'edge') {
      const held = leases.filter((l) => l.edge === name && !ENDED.has(l.state));
      if (g.pool.spill) {
        facts.append(el('span', { class: 'spill' }, 'circuit breaker ', el('span', { class: `badge ${g.pool.spill.circuitBreaker}` }, g.pool.spill.circuitBreaker),
          ` · center ${g.pool.spill.preferredCenter || '-'}`));
      } else {
        facts.append(el('span', { class: 'spill' }, 'spilling off'));
      }
      facts.append(el('span', { class: 'leases-held' }, `leases held ${allLeases() ? held.length : '?'}`));
    } else {
      facts.append(el('span', { class: 'leases-held' }, `live leases ${leases.filter((l) => !ENDED.has(l.state)).length}`));
    }
    box.append(facts);
    const cards = el('div', { class: 'cards' });
    for (const c of g.pool.gpus) {
      const limit = c.memoryTotalBytes - c.memoryReserveBytes;
      const mem = limit > 0 ? c.memoryAllocatedBytes / limit : 0;
      const holders = g.pool.sessions.filter((s) => s.slices.some((x) => x.node === c.node && x.gpuIndex === c.gpuIndex));
      const hue = 130 - 130 * Math.min(1, mem);
      const card = el('div', {
        class: `card ${c.nodeState === 'UP' ? '' : 'down'}`,
        dataset: { card: `${c.node}/${c.gpuIndex}`, sessions: c.sessions },
        style: c.nodeState === 'UP' ? `background: hsl(${hue} 70% ${96 - 30 * mem}%)` : null,
        title: `${c.uuid}`,
      },
      el('div', { class: 'title' }, `${c.node} · GPU ${c.gpuIndex} · ${c.model}`),
      el('div', {}, `memory ${gib(c.memoryAllocatedBytes)} / ${gib(limit)}`),
      el('div', { class: 'meter', title: 'memory allocated' }, el('i', { style: `width:${pct(mem)}` })),
      el('div', {}, `compute ${c.computeAllocatedPercent}%`),
      el('div', { class: 'meter', title: 'compute allocated' }, el('i', { style: `width:${c.computeAllocatedPercent}%; background:#7a4fc4` })),
      el('div', { class: 'sessions' }, `${c.sessions} session${c.sessions === 1 ? '' : 's'}`,
        el('ul', {}, holders.map((s) => el('li', { class: 'session', dataset: { session: s.id } },
          s.id.startsWith('lease-') ? `lease of ${s.tenant}` : `${s.tenant} ${shortId(s.id)}`)))));
      cards.append(card);
    }
    box.append(cards);
    root.append(box);
  }
}

function renderLeases() {
  const leases = allLeases();
  const center = centers()[0];
  const body = $('#lease-table tbody');
  body.replaceChildren();
  const actions = $('#lease-actions');
  if (!leases) {
    actions.replaceChildren(el('p', { class: 'muted' }, 'No center gateway answers: leases are listed by the center (spillway.console.peers names it).'));
    return;
  }
  const local = state.self.kind === 'center';
  if (!isAdmin()) {
    actions.replaceChildren(el('p', { class: 'muted' }, 'Read-only: revoking and rebalancing are for the admin role.'));
  } else if (!local) {
    actions.replaceChildren(el('p', { class: 'muted' }, 'Revoke and rebalance from a center\'s console: ',
      el('a', { href: `${center.url}/console/#leases` }, `${center.url}/console/`)));
  } else if (!$('#rebalance-form')) {
    actions.replaceChildren(rebalanceForm());
  }
  if ($('#rebalance-form')) fillEdges();
  const now = Date.now();
  for (const l of [...leases].reverse()) {
    const left = Math.round((Date.parse(l.deadline) - now) / 1000);
    const deadline = ENDED.has(l.state) ? `ended ${new Date(l.deadline).toLocaleTimeString()}`
      : left >= 0 ? `${l.state === 'DRAINING' ? 'drain ends' : 'lapses'} in ${left} s` : `passed ${-left} s ago`;
    const row = el('tr', { class: 'lease', dataset: { lease: l.id, state: l.state } },
      el('td', { title: l.id }, shortId(l.id)),
      el('td', {}, el('span', { class: `badge ${l.state}` }, l.state)),
      el('td', {}, l.edge),
      el('td', {}, l.slices.map((s) => `${s.node}:${s.gpuIndex} ${s.model}`).join(', ')),
      el('td', {}, gib(l.memoryBytes)),
      el('td', {}, l.epoch),
      el('td', { class: 'countdown' }, deadline),
      el('td', {}, l.reason),
      el('td', {}, isAdmin() && local && l.state === 'GRANTED'
        ? el('button', { class: 'revoke', dataset: { lease: l.id }, onclick: () => revoke(l) }, 'Revoke') : ''));
    body.append(row);
  }
  renderDrains(leases);
}

function rebalanceForm() {
  return el('form', { id: 'rebalance-form', onsubmit: (ev) => { ev.preventDefault(); rebalance(); } },
    el('strong', {}, 'Rebalance'),
    el('label', {}, 'from edge', el('select', { id: 'rb-from', required: true })),
    el('label', {}, 'to edge', el('select', { id: 'rb-to', required: true })),
    el('label', {}, 'memory (GiB)', el('input', { id: 'rb-gib', type: 'number', min: '0.001', step: 'any', value: '1', required: true })),
    el('label', {}, 'reason', el('input', { id: 'rb-reason', required: true })),
    el('label', {}, 'acting as', el('input', { id: 'actor', value: localStorage.getItem('spillway.console.actor') || 'console' })),
    el('button', { type: 'submit', id: 'rb-submit' }, 'Rebalance…'));
}

function fillEdges() {
  const edges = new Set([...(allLeases() || []).map((l) => l.edge), ...gateways().filter((g) => g.kind === 'edge').map((g) => g.name)]);
  for (const id of ['#rb-from', '#rb-to']) {
    const sel = $(id);
    const known = [...sel.options].map((o) => o.value);
    for (const e of edges) if (e && !known.includes(e)) sel.append(el('option', { value: e }, e));
  }
}

function actor() {
  const a = ($('#actor') && $('#actor').value.trim()) || 'console';
  localStorage.setItem('spillway.console.actor', a);
  return a;
}

// Asks for a confirmation (and a reason when `reason` is given); resolves to the reason, or null if cancelled.
function confirmAction(text, reason) {
  const d = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-reason-label').hidden = reason === undefined;
  $('#confirm-reason').value = reason || '';
  $('#confirm-error').textContent = '';
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok' ? $('#confirm-reason').value.trim() : null), { once: true });
  });
}

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', 'X-Spillway-Admin': actor() }),
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => null);
  return { status: r.status, ok: r.ok, answer };
}

function showAnswer(what, res) {
  const text = res.ok ? `${what}: ${res.status}` : `${what} refused: ${res.status}${res.answer && res.answer.message ? ` — ${res.answer.message}` : ''}`;
  $('#action-result').replaceChildren(el('div', { class: `answer ${res.ok ? 'ok' : 'failed'}`, dataset: { status: res.status } },
    el('strong', {}, text), el('pre', {}, JSON.stringify(res.answer, null, 2))));
}

async function revoke(lease) {
  const reason = await confirmAction(`Revoke lease ${lease.id} of ${lease.edge} (${gib(lease.memoryBytes)} on ${lease.slices.map((s) => `${s.node}:${s.gpuIndex}`).join(', ')})? `
    + 'Its edge moves its sessions off; at the drain deadline it is revoked regardless.', '');
  if (reason === null) return;
  if (!reason) {
    showAnswer('Revoke', { ok: false, status: 'not sent', answer: { message: 'a reason is required' } });
    return;
  }
  const res = await post(`/leases/${encodeURIComponent(lease.id)}/revoke`, { reason });
  showAnswer(`Revoke ${lease.id}`, res);
  if (res.ok) {
    state.drains.set(lease.id, { edge: lease.edge, slices: lease.slices, seen: [res.answer.state], startedAt: Date.now() });
    refresh();
  }
}

async function rebalance() {
  const from = $('#rb-from').value; const to = $('#rb-to').value;
  const bytes = Math.round(Number($('#rb-gib').value) * GIB);
  const reason = $('#rb-reason').value.trim();
  const ok = await confirmAction(`Revoke ${from}'s leases until ${gib(bytes)} are freed, for ${to}? `
    + 'The freed capacity goes to whichever edge asks next: nothing is reserved for it.');
  if (ok === null) return;
  const res = await post('/rebalance', { fromEdge: from, toEdge: to, memoryBytes: bytes, reason });
  showAnswer(`Rebalance ${from} → ${to}`, res);
  if (res.ok) {
    for (const l of res.answer.revoked) state.drains.set(l.id, { edge: l.edge, slices: l.slices, seen: [l.state], startedAt: Date.now() });
    refresh();
  }
}

// The drain of each lease revoked from this page: its state as the lease log moves, the time left to
// the drain deadline, and the sessions still open on its cards on the center.
function renderDrains(leases) {
  const root = $('#drains');
  root.replaceChildren();
  const center = centers()[0];
  for (const [id, d] of state.drains) {
    const l = leases.find((x) => x.id === id);
    if (!l) continue;
    if (d.seen[d.seen.length - 1] !== l.state) d.seen.push(l.state);
    const ended = ENDED.has(l.state);
    const onCards = center ? center.sessions.filter((s) => s.slices.some((x) => l.slices.some((y) => y.node === x.node && y.gpuIndex === x.gpuIndex)) && !s.id.startsWith('lease-')).length : 0;
    const left = Math.round((Date.parse(l.deadline) - Date.now()) / 1000);
    root.append(el('div', { class: `drain ${ended ? 'ended' : ''}`, dataset: { lease: id, state: l.state } },
      el('strong', {}, `${shortId(id)} (${d.edge}): `), d.seen.join(' → '),
      ended ? ` · ended: ${l.reason}` : ` · drain deadline in ${Math.max(0, left)} s · ${onCards} session(s) on its cards`));
  }
}

function renderTenants() {
  const body = $('#tenant-table tbody');
  body.replaceChildren();
  // Tenants reach the federation through edges, so an edge's /sessions lists each session once, spilled
  // ones included; a center's sessions are counted only when no edge is known.
  const edges = gateways().filter((g) => g.up && g.kind === 'edge');
  const sources = edges.length ? edges : centers().slice(0, 1);
  const tenants = new Map();
  for (const g of sources) {
    for (const s of g.sessions) {
      const t = tenants.get(s.tenant) || { sessions: 0, memory: 0, compute: 0, where: new Map(), quotas: [] };
      t.sessions++;
      for (const x of s.slices) {
        t.memory += x.memoryBytes; t.compute += x.computePercent;
      }
      // An edge names a spilled session's upstream "center"; its slices say which card.
      const cards = s.slices.map((x) => `${x.node}:${x.gpuIndex}`).join('+');
      const key = `${g.name}: ${s.node === 'center' ? 'center ' : ''}${cards || s.node}`;
      t.where.set(key, (t.where.get(key) || 0) + 1);
      const q = g.quotas && g.quotas[s.tenant];
      if (q && !t.quotas.some((y) => y.g === g.name)) t.quotas.push({ g: g.name, ...q });
      tenants.set(s.tenant, t);
    }
  }
  for (const [name, t] of [...tenants].sort()) {
    const quota = (field, fmt) => t.quotas.map((q) => `${q.g}: ${q[field] ? fmt(q[field]) : 'unlimited'}`).join(', ');
    body.append(el('tr', { class: 'tenant', dataset: { tenant: name } },
      el('td', {}, name),
      el('td', {}, `${t.sessions}`, el('div', { class: 'muted' }, `quota ${quota('maxSessions', String)}`)),
      el('td', {}, gib(t.memory), el('div', { class: 'muted' }, `quota ${quota('maxMemoryBytes', gib)}`)),
      el('td', {}, `${t.compute}%`),
      el('td', {}, [...t.where].map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`).join(', '))));
  }
  if (!tenants.size) body.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No sessions.')));
}

function renderUtilization() {
  const root = $('#charts');
  const series = { memory: [], compute: [], sessions: [], spills: [], moves: [], grants: [] };
  for (const g of gateways()) {
    if (!g.up || !g.history) continue;
    const samples = g.history.samples;
    const t = samples.map((s) => Date.parse(s.at));
    const pools = new Set(samples.flatMap((s) => s.pools.map((p) => p.pool)));
    for (const pool of pools) {
      const use = samples.map((s) => s.pools.find((p) => p.pool === pool));
      series.memory.push({ name: pool, t, y: use.map((u) => (u && u.memoryLimitBytes ? (100 * u.memoryAllocatedBytes) / u.memoryLimitBytes : null)) });
      series.compute.push({ name: pool, t, y: use.map((u) => (u && u.cards ? u.computeAllocatedPercent / u.cards : null)) });
    }
    series.sessions.push({ name: g.name, t, y: samples.map((s) => s.sessions) });
    const perMinute = (field) => samples.map((s, i) => (i === 0 ? null : Math.max(0, s[field] - samples[i - 1][field]) * 60000 / Math.max(1, t[i] - t[i - 1])));
    if (g.kind === 'edge') series.spills.push({ name: g.name, t, y: perMinute('spills') });
    if (g.kind === 'edge') series.moves.push({ name: g.name, t, y: perMinute('moves') });
    if (g.kind === 'center') series.grants.push({ name: g.name, t, y: samples.map((s) => s.leaseGrantMillis) });
  }
  root.replaceChildren(
    lineChart('Memory allocated per pool', '% of the cards\' memory', series.memory, { max: 100 }),
    lineChart('Compute allocated per pool', '% of the cards\' compute', series.compute, { max: 100 }),
    lineChart('Sessions', 'sessions', series.sessions),
    lineChart('Spills to the center', 'sessions / min', series.spills),
    lineChart('Session moves (rebuilt on another slice)', 'sessions / min', series.moves),
    lineChart('Lease grant latency', 'ms (mean per sample)', series.grants));
}

// ---- the loop ----

let inFlight = false;
async function refresh() {
  if (inFlight || !state.access) return;
  inFlight = true;
  try {
    state.federation = await getJson(`/console/api/federation${state.page === 'utilization' ? '?history=true' : ''}`);
    $('#status').textContent = `updated ${new Date().toLocaleTimeString()} · ${gateways().filter((g) => g.up).length}/${gateways().length} gateways answer`;
    $('#status').className = 'muted';
    if (state.page === 'overview') renderOverview();
    if (state.page === 'leases') renderLeases();
    if (state.page === 'tenants') renderTenants();
    if (state.page === 'utilization') renderUtilization();
  } catch (e) {
    $('#status').textContent = `not updated: ${e.message}`;
    $('#status').className = 'error';
  } finally {
    inFlight = false;
  }
}

async function main() {
  showPage();
  state.self = await getJson('/console/api/self');
  $('#where').textContent = `${state.self.kind} gateway ${state.self.name}`;
  document.title = `Spillway · ${state.self.name}`;
  setInterval(refresh, POLL_MS);
  if (await authenticate()) await refresh();
}

main().catch((e) => { document.body.append(el('p', { class: 'error' }, `console failed to start: ${e.message}`)); });
