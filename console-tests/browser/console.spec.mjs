// The console in headless Chromium, against the federation ConsoleBrowserIT started (its URLs and
// tokens come in the environment). Prints "PASS <check>" per check; the first failure prints
// "FAIL <check>: why" and exits 1. Uses the system Chromium: nothing is downloaded.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { CHROMIUM, CENTER_URL, EDGE_URL, ADMIN_TOKEN, READ_ONLY_TOKEN, SCREENSHOTS } = process.env;
for (const [k, v] of Object.entries({ CHROMIUM, CENTER_URL, EDGE_URL, ADMIN_TOKEN, READ_ONLY_TOKEN, SCREENSHOTS })) {
  if (!v) { console.log(`FAIL environment: ${k} is not set`); process.exit(2); }
}
const WAIT = { timeout: 40000 };
const ENDED = ['RELEASED', 'EXPIRED', 'REVOKED'];

function assert(ok, why) { if (!ok) throw new Error(why); }
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message.replace(/\s*\n\s*/g, ' | ').slice(0, 600)}`);
    throw e;
  }
}

const pageErrors = [];
function watch(page, label) {
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  return page;
}

const profile = mkdtempSync(join(tmpdir(), 'spillway-console-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
let status = 0;
try {
  // ---- an edge's console: credentials on, so it asks for a token ----
  const edge = watch(await context.newPage(), 'edge');
  await edge.goto(`${EDGE_URL}/console/`);

  await check('edge console asks for a token and signs in as admin', async () => {
    await edge.locator('#token-form').waitFor({ state: 'visible', ...WAIT });
    assert(await edge.locator('#app').isHidden(), 'the console shows its pages before a token');
    await edge.fill('#token', ADMIN_TOKEN);
    await edge.click('#token-form button');
    const banner = edge.locator('#auth-banner');
    await edge.waitForFunction(() => (document.querySelector('#auth-banner') || {}).textContent
      && document.querySelector('#auth-banner').textContent.includes('Signed in as admin'), null, WAIT);
    const text = await banner.innerText();
    assert(text.includes('signed tokens'), `banner says: ${text}`);
  });

  await check('edge cards appear with their sessions', async () => {
    const box = '.gateway[data-gateway="edge-a"]';
    await edge.locator(`${box} .card[data-card="edge-a-gpu/0"]`).waitFor(WAIT);
    await edge.locator(`${box} .card[data-card="edge-a-gpu/1"]`).waitFor(WAIT);
    // Three acme sessions on the edge's two cards, each listed on its card.
    await edge.waitForFunction((sel) => document.querySelectorAll(sel).length === 3,
      `${box} .card .session`, WAIT);
    const names = await edge.locator(`${box} .card .session`).allInnerTexts();
    assert(names.every((n) => n.startsWith('acme ')), `sessions on the edge's cards: ${names}`);
    const memory = await edge.locator(`${box} .card[data-card="edge-a-gpu/0"]`).innerText();
    assert(/memory \d+(\.\d)? GiB \/ 16 GiB/.test(memory), `card 0 says: ${memory}`);
    const node = await edge.locator(`${box} .node[data-node="edge-a-gpu"]`).innerText();
    assert(node.includes('UP'), `node edge-a-gpu: ${node}`);
    const spill = await edge.locator(`${box} .spill`).innerText();
    assert(spill.includes('CLOSED'), `spill state: ${spill}`);
  });

  await check("center card holds the edge's lease", async () => {
    await edge.waitForFunction(() => [...document.querySelectorAll('.gateway[data-gateway="center-gw"] .card .session')]
      .some((e) => e.textContent.includes('lease of edge-a')), null, WAIT);
    const held = await edge.locator('.gateway[data-gateway="edge-a"] .leases-held').innerText();
    assert(held === 'leases held 1', `edge-a: ${held}`);
  });
  await edge.screenshot({ path: join(SCREENSHOTS, 'console-overview.png'), fullPage: true });

  let leaseId;
  await check('spill shows up as a GRANTED lease of edge-a', async () => {
    await edge.click('nav a[data-page="leases"]');
    const row = edge.locator('tr.lease[data-state="GRANTED"]').filter({ hasText: 'edge-a' });
    await row.first().waitFor(WAIT);
    leaseId = await row.first().getAttribute('data-lease');
    const text = await row.first().innerText();
    assert(text.includes('center-gpu:0 A100') && text.includes('10 GiB'), `lease row: ${text}`);
    assert(/lapses in \d+ s/.test(text), `no countdown in: ${text}`);
  });

  // ---- the center's console: tokens declared, so it asks for one ----
  const admin = watch(await context.newPage(), 'admin');
  await admin.goto(`${CENTER_URL}/console/#leases`);

  await check('unknown token is refused', async () => {
    await admin.locator('#token-form').waitFor({ state: 'visible', ...WAIT });
    await admin.fill('#token', 'not-a-token');
    await admin.click('#token-form button');
    await admin.waitForFunction(() => document.querySelector('#token-error').textContent.length > 0, null, WAIT);
    assert(await admin.locator('#app').isHidden(), 'the console shows its pages to an unknown token');
  });

  await check('admin sees revoke and rebalance', async () => {
    await admin.fill('#token', ADMIN_TOKEN);
    await admin.click('#token-form button');
    await admin.locator(`.revoke[data-lease="${leaseId}"]`).waitFor(WAIT);
    await admin.locator('#rebalance-form').waitFor(WAIT);
    const banner = await admin.locator('#auth-banner').innerText();
    assert(banner.includes('Signed in as admin') && banner.includes('the admin API checks the role'),
      `banner says: ${banner}`);
  });

  await check('revoke asks for a reason and a confirmation', async () => {
    await admin.locator(`.revoke[data-lease="${leaseId}"]`).click();
    await admin.locator('#confirm[open]').waitFor(WAIT);
    const text = await admin.locator('#confirm-text').innerText();
    assert(text.includes(leaseId) && text.includes('edge-a'), `dialog says: ${text}`);
    // Cancelled: nothing is sent, the lease stays GRANTED.
    await admin.click('#confirm-cancel');
    await admin.locator('#confirm[open]').waitFor({ state: 'detached', ...WAIT });
    await admin.waitForTimeout(1200);
    assert(await admin.locator(`tr.lease[data-lease="${leaseId}"][data-state="GRANTED"]`).count() === 1,
      'the lease is still GRANTED after cancelling');
    await admin.locator(`.revoke[data-lease="${leaseId}"]`).click();
    await admin.locator('#confirm[open]').waitFor(WAIT);
    await admin.fill('#confirm-reason', 'card maintenance (browser test)');
    await admin.click('#confirm-ok');
  });

  await check('revoke answered 200 with DRAINING', async () => {
    const answer = admin.locator('#action-result .answer');
    await answer.waitFor(WAIT);
    const text = await answer.innerText();
    assert((await answer.getAttribute('data-status')) === '200', `answer: ${text}`);
    assert(text.includes('"state": "DRAINING"') && text.includes('revoked by console-admin: card maintenance (browser test)'),
      `answer: ${text}`);
  });

  await check('drain seen DRAINING then ended', async () => {
    const drain = admin.locator(`.drain[data-lease="${leaseId}"]`);
    await drain.waitFor(WAIT);
    await admin.screenshot({ path: join(SCREENSHOTS, 'console-leases.png'), fullPage: true });
    await admin.waitForFunction(([sel, ended]) => {
      const d = document.querySelector(sel);
      return d && ended.includes(d.dataset.state);
    }, [`.drain[data-lease="${leaseId}"]`, ENDED], WAIT);
    const text = await drain.innerText();
    assert(/DRAINING → (RELEASED|REVOKED|EXPIRED)/.test(text), `drain progress: ${text}`);
    const row = await admin.locator(`tr.lease[data-lease="${leaseId}"]`).getAttribute('data-state');
    assert(ENDED.includes(row), `lease row state: ${row}`);
  });
  await admin.screenshot({ path: join(SCREENSHOTS, 'console-leases-ended.png'), fullPage: true });

  await check('tenants list sessions against quotas', async () => {
    await edge.click('nav a[data-page="tenants"]');
    const acme = edge.locator('tr.tenant[data-tenant="acme"]');
    await acme.waitFor(WAIT);
    const text = await acme.innerText();
    assert(/^acme\s+3\b/.test(text) && text.includes('27 GiB') && text.includes('edge-a: 16')
      && text.includes('edge-a: 256 GiB') && text.includes('edge-a-gpu:'), `acme row: ${text}`);
    const globex = await edge.locator('tr.tenant[data-tenant="globex"]').innerText();
    assert(/^globex\s+1\b/.test(globex) && globex.includes('edge-a: 8') && globex.includes('edge-a: center'),
      `globex row: ${globex}`);
    await edge.screenshot({ path: join(SCREENSHOTS, 'console-tenants.png'), fullPage: true });
  });

  await check('utilization charts have axes and lines', async () => {
    await edge.click('nav a[data-page="utilization"]');
    await edge.waitForFunction(() => {
      const mem = document.querySelector('.chart[data-chart="Memory allocated per pool"]');
      return mem && mem.querySelectorAll('path[data-series]').length >= 2
        && [...mem.querySelectorAll('path[data-series]')].every((p) => (p.getAttribute('d') || '').includes('L'));
    }, null, WAIT);
    const titles = await edge.locator('.chart h3').allInnerTexts();
    for (const t of ['Memory allocated per pool (% of the cards\' memory)', 'Compute allocated per pool',
      'Sessions (sessions)', 'Spills to the center (sessions / min)', 'Session moves', 'Lease grant latency']) {
      assert(titles.some((x) => x.startsWith(t)), `no chart ${t} in ${titles}`);
    }
    const series = await edge.locator('.chart[data-chart="Memory allocated per pool"] path[data-series]')
      .evaluateAll((ps) => ps.map((p) => p.dataset.series));
    assert(series.includes('edge/edge-a') && series.includes('center'), `memory series: ${series}`);
    const ticks = await edge.locator('.chart[data-chart="Memory allocated per pool"] .axis text').allTextContents();
    assert(ticks.includes('100') && ticks.some((t) => /\d\d:\d\d:\d\d/.test(t)), `axis labels: ${ticks}`);
    await edge.waitForTimeout(1500);
    await edge.screenshot({ path: join(SCREENSHOTS, 'console-utilization.png'), fullPage: true });
  });

  await check('read-only token sees leases without actions', async () => {
    const ro = watch(await context.newPage(), 'read-only');
    await ro.goto(`${CENTER_URL}/console/#leases`);
    await ro.locator('#token-form').waitFor({ state: 'visible', ...WAIT });
    await ro.fill('#token', READ_ONLY_TOKEN);
    await ro.click('#token-form button');
    await ro.locator('tr.lease').first().waitFor(WAIT);
    await ro.waitForTimeout(1200);
    assert(await ro.locator('.revoke').count() === 0, 'a read-only user sees revoke buttons');
    assert(await ro.locator('#rebalance-form').count() === 0, 'a read-only user sees the rebalance form');
    const banner = await ro.locator('#auth-banner').innerText();
    assert(banner.includes('Signed in as read-only (actions hidden)'), `banner says: ${banner}`);
    const note = await ro.locator('#lease-actions').innerText();
    assert(note.includes('Read-only'), `actions area says: ${note}`);
    await ro.screenshot({ path: join(SCREENSHOTS, 'console-read-only.png'), fullPage: true });
  });

  assert(pageErrors.length === 0, `errors in the pages: ${pageErrors.join('; ')}`);
} catch (e) {
  status = 1;
  if (pageErrors.length) console.log(`page errors: ${pageErrors.join('; ')}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
