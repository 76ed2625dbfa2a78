// Nodes page: every worker node from GET /nodes (refreshed every 2 s), as it last
// reported itself: live or gone, its engines, the jobs it runs.
import { api, errorText, formatAgo, formatCount, formatDate, h, jobPath, liveIndicator, notice, poll, shortHash } from './console.js';

const list = document.getElementById('nodes');
const summary = document.getElementById('summary');
const error = document.getElementById('error');
const live = liveIndicator(document.getElementById('live'));

/** "12 s ago · 3 Mar 2025, 10:04:12": relative, then exact (past a day, formatAgo already gives the date). */
function when(iso) {
  const exact = formatDate(iso);
  const ago = formatAgo(iso);
  return h('time', { datetime: iso, title: exact }, ago, ago === exact ? null : h('span', { class: 'muted', text: ` · ${exact}` }));
}

function fact(label, field, ...value) {
  return h('div', { class: 'fact', dataset: { field } }, h('dt', { text: label }), h('dd', {}, ...value));
}

function cell(label, props, ...children) {
  return h('td', { ...props, dataset: { label } }, ...children);
}

function engineRow(engine) {
  return h(
    'tr',
    { dataset: { engine: engine.name, available: String(engine.available), serving: String(engine.serving) } },
    cell(
      'Engine',
      { class: 'engine-name' },
      h('a', { href: `/console/jobs?engine=${encodeURIComponent(engine.name)}`, text: engine.name }),
    ),
    cell('Image', { class: 'mono breakable' }, engine.image),
    cell('Digest', { class: 'mono digest', title: engine.digest ?? undefined }, engine.digest ? shortHash(engine.digest) : 'not resolved'),
    cell(
      'State',
      { class: 'state' },
      h('span', { class: `badge ${engine.available ? 'ok' : 'bad'}`, text: engine.available ? 'Available' : 'Unavailable' }),
      engine.reason ? h('span', { class: 'reason muted small breakable', text: engine.reason }) : null,
    ),
    cell('Serving', { class: 'serving' }, engine.serving ? 'Yes' : 'No'),
  );
}

function runningList(node) {
  if (!node.running.length) return h('p', { class: 'muted small none', text: node.live ? 'No job running.' : 'No job was running.' });
  return h(
    'ul',
    { class: 'running' },
    node.running.map((job) =>
      h(
        'li',
        { dataset: { jobid: job.jobId } },
        h('a', { class: 'mono', href: jobPath(job.jobId), text: job.jobId }),
        h('span', { class: 'muted', text: ` · ${job.engine}` }),
      ),
    ),
  );
}

function nodeCard(node) {
  return h(
    'article',
    { class: `card node${node.live ? '' : ' gone'}`, id: `node-${node.name}`, dataset: { node: node.name, live: String(node.live) } },
    h(
      'header',
      { class: 'card-head' },
      h('h2', { class: 'breakable mono', text: node.name }),
      h('span', {
        class: `badge ${node.live ? 'ok' : 'bad'}`,
        title: node.live ? 'reported within the last three report intervals' : 'has not reported for three report intervals',
        text: node.live ? 'Live' : 'Gone',
      }),
    ),
    h(
      'dl',
      { class: 'facts node-facts' },
      fact('Last seen', 'last-seen', when(node.lastSeenAt)),
      fact('Started', 'started', when(node.startedAt)),
      fact('Running', 'running', formatCount(node.running.length)),
    ),
    h('h3', { text: 'Engines' }),
    node.engines.length
      ? h(
          'div',
          { class: 'table-wrap inset' },
          h(
            'table',
            { class: 'node-engines' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Engine', 'Image', 'Digest', 'State', 'Serving'].map((t) => h('th', { text: t })),
              ),
            ),
            h('tbody', {}, node.engines.map(engineRow)),
          ),
        )
      : h('p', { class: 'muted small', text: 'This node serves no engine.' }),
    h('h3', { text: node.live ? 'Running jobs' : 'Running when last seen' }),
    runningList(node),
  );
}

async function refresh() {
  let answer;
  try {
    answer = await api('/nodes');
  } catch (err) {
    live.failed();
    notice(error, `Could not load the nodes: ${errorText(err)}`);
    return;
  }
  live.ok();
  notice(error, null);
  const nodes = answer.nodes ?? [];
  const alive = nodes.filter((n) => n.live).length;
  summary.textContent = nodes.length
    ? `${formatCount(nodes.length)} ${nodes.length === 1 ? 'node' : 'nodes'}, ${formatCount(alive)} live; most recently seen first.`
    : 'The worker nodes, as each last reported itself: its engines and the jobs it runs.';
  list.setAttribute('aria-busy', 'false');
  list.replaceChildren(...(nodes.length ? nodes.map(nodeCard) : [h('p', { class: 'muted', text: 'No worker node has reported yet.' })]));
  if (!document.body.dataset.loaded && location.hash) {
    // The cards come after the page loaded, so the browser found no #node-<name> to scroll to.
    document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }
  document.body.dataset.loaded = 'true';
}

poll(refresh, 2000);
