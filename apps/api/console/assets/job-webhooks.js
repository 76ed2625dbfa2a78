// The job page's webhook deliveries (GET /jobs/<id>/webhooks), each with its attempts.
import { api, errorText, fill, formatDate, h, poll } from './console.js';

const webhooksTable = document.getElementById('webhooks');
const webhookRows = document.getElementById('webhook-rows');
const webhooksEmpty = document.getElementById('webhooks-empty');
const webhooksMeta = document.getElementById('webhooks-meta');
const DELIVERY_BADGES = { pending: 'status-queued', delivering: 'status-running', delivered: 'ok', failed: 'bad' };
const DELIVERY_LABELS = { pending: 'Pending', delivering: 'Retrying', delivered: 'Delivered', failed: 'Given up' };
/** Rounds after the end with no delivery yet (they are made within a moment of it) before the page stops asking. */
let webhookChecksLeft = 5;

function attemptLine(a) {
  const outcome = a.statusCode === null ? 'no answer' : `HTTP ${a.statusCode}`;
  return h(
    'li',
    { class: 'attempt', dataset: { attempt: String(a.attempt) } },
    h('span', { class: 'mono', text: `#${a.attempt} ` }),
    h('time', { datetime: a.at, text: formatDate(a.at) }),
    h('span', { text: ` · ${outcome} · ${a.latencyMs} ms` }),
    a.error ? h('span', { class: 'muted breakable', text: ` · ${a.error}` }) : null,
  );
}

function renderWebhooks(deliveries) {
  webhooksTable.hidden = deliveries.length === 0;
  webhooksEmpty.hidden = deliveries.length > 0;
  webhooksMeta.textContent = deliveries.length
    ? `${deliveries.filter((d) => d.status === 'delivered').length} of ${deliveries.length} delivered`
    : '';
  fill(
    webhookRows,
    ...deliveries.map((d) =>
      h(
        'tr',
        { dataset: { delivery: d.deliveryId, status: d.status } },
        h('td', { class: 'mono', text: d.event }),
        h(
          'td',
          {},
          h('span', { class: 'mono breakable', text: d.url }),
          h('span', { class: 'muted', text: d.receiver === 'callback' ? ' (callback)' : ' (target)' }),
        ),
        h('td', {}, h('span', { class: `badge ${DELIVERY_BADGES[d.status] ?? ''}`, text: DELIVERY_LABELS[d.status] ?? d.status })),
        h(
          'td',
          {},
          d.attempts.length
            ? h('ol', { class: 'attempts' }, ...d.attempts.map(attemptLine))
            : h('span', { class: 'muted', text: 'none yet' }),
        ),
      ),
    ),
  );
}

/** GET /jobs/<id>/webhooks, again while a delivery is still being tried. */
export function followWebhooks(id) {
  poll(async () => {
    let deliveries;
    try {
      deliveries = await api(`/jobs/${encodeURIComponent(id)}/webhooks`);
    } catch (err) {
      webhooksMeta.textContent = `Could not load the deliveries: ${errorText(err)}`;
      return true;
    }
    renderWebhooks(deliveries);
    if (deliveries.some((d) => d.status === 'pending' || d.status === 'delivering')) return true;
    return deliveries.length === 0 && webhookChecksLeft-- > 0;
  }, 2000);
}
