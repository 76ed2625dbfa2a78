// Engines page: every engine from GET /engines with the live nodes that serve it (refreshed every 2 s),
// and service health from GET /health (every 10 s).
import {
  api,
  errorText,
  formatBytes,
  formatCount,
  formatDuration,
  h,
  liveIndicator,
  nodePath,
  notice,
  poll,
  shortHash,
} from './console.js';

const list = document.getElementById('engines');
const health = document.getElementById('health');
const error = document.getElementById('error');
const live = liveIndicator(document.getElementById('live'));

function fact(label, value, opts = {}) {
  return h(
    'div',
    { class: `fact${opts.wide ? ' wide' : ''}` },
    h('dt', { text: label }),
    h('dd', { class: opts.mono ? 'mono breakable' : undefined, title: opts.title }, value),
  );
}

/** The image digest, when every node that serves the engine resolves its image to the same one. */
function digestOf(engine) {
  const digests = new Set((engine.nodes ?? []).map((n) => n.digest));
  if (digests.size > 1) return 'differs by node (below)';
  return engine.imageDigest ?? 'not resolved';
}

/** The live nodes serving the engine: name and short digest (the full one in a title). */
function nodeChips(engine) {
  const nodes = engine.nodes ?? [];
  if (!nodes.length) return h('span', { class: 'muted', text: 'no live node serves it' });
  return h(
    'span',
    { class: 'node-chips' },
    nodes.map((n) =>
      h(
        'a',
        { class: 'node-chip', href: nodePath(n.name), dataset: { node: n.name }, title: n.digest ?? 'image not resolved on this node' },
        h('span', { text: n.name }),
        h('span', { class: 'mono', text: n.digest ? shortHash(n.digest) : 'not resolved' }),
      ),
    ),
  );
}

function engineCard(engine) {
  const { queued, running } = engine.jobs;
  return h(
    'article',
    { class: 'card engine', dataset: { engine: engine.name } },
    h(
      'header',
      { class: 'card-head' },
      h('h2', { class: 'breakable', text: engine.name }),
      h('span', { class: `badge ${engine.available ? 'ok' : 'bad'}`, text: engine.available ? 'Available' : 'Unavailable' }),
    ),
    !engine.available && engine.unavailableReason ? h('p', { class: 'notice danger small', text: engine.unavailableReason }) : null,
    h(
      'div',
      { class: 'counters' },
      h(
        'a',
        { class: 'counter', href: `/console/jobs?engine=${encodeURIComponent(engine.name)}&status=queued` },
        h('strong', { dataset: { count: 'queued' }, text: formatCount(queued) }),
        h('span', { text: 'queued' }),
      ),
      h(
        'a',
        { class: 'counter', href: `/console/jobs?engine=${encodeURIComponent(engine.name)}&status=running` },
        h('strong', { dataset: { count: 'running' }, text: formatCount(running) }),
        h('span', { text: 'running' }),
      ),
      h(
        'div',
        { class: 'counter' },
        h('strong', { dataset: { count: 'workers' }, text: formatCount(engine.workers) }),
        h('span', { text: engine.workers === 1 ? 'worker' : 'workers' }),
      ),
    ),
    h(
      'dl',
      { class: 'facts' },
      fact('Image', engine.image, { mono: true, wide: true }),
      fact('Digest', digestOf(engine), { mono: true, wide: true }),
      fact('Nodes', nodeChips(engine), { wide: true }),
      fact('Size limit', formatBytes(engine.sizelimit), { title: `${engine.sizelimit} bytes` }),
      fact('Timeout', formatDuration(engine.timeout * 1000)),
    ),
    h(
      'footer',
      { class: 'card-actions' },
      h('a', { class: 'button primary small', href: `/console/upload?engine=${encodeURIComponent(engine.name)}` }, 'Upload'),
      h('a', { class: 'button subtle small', href: `/console/jobs?engine=${encodeURIComponent(engine.name)}` }, 'Jobs'),
    ),
  );
}

function renderHealth(answer) {
  const names = { database: 'Database', temporal: 'Temporal', storage: 'Storage' };
  health.replaceChildren(
    ...Object.entries(answer.checks ?? {}).map(([key, check]) =>
      h(
        'span',
        {
          class: `pill ${check.ok ? 'ok' : 'bad'}`,
          title: check.ok ? `answered in ${check.latencyMs} ms` : check.error,
          dataset: { check: key },
        },
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        `${names[key] ?? key} ${check.ok ? 'up' : 'down'}`,
      ),
    ),
  );
}

let ticks = 0;

async function refresh() {
  // /health pings the database, Temporal and the store: every 10 s is plenty.
  const checkHealth = ticks++ % 5 === 0;
  const [engines, healthAnswer] = await Promise.allSettled([
    api('/engines'),
    checkHealth ? fetch('/health', { cache: 'no-store' }).then((r) => r.json()) : Promise.reject(new Error('skipped')),
  ]);
  if (healthAnswer.status === 'fulfilled') renderHealth(healthAnswer.value);
  if (engines.status === 'rejected') {
    live.failed();
    notice(error, `Could not load the engines: ${errorText(engines.reason)}`);
    return;
  }
  live.ok();
  notice(error, null);
  const items = engines.value.engines ?? [];
  list.setAttribute('aria-busy', 'false');
  list.replaceChildren(...(items.length ? items.map(engineCard) : [h('p', { class: 'muted', text: 'No engines are configured.' })]));
}

poll(refresh, 2000);
