// The job page's timeline: queued → running → final, each step with its time and a note.
import { between, fill, formatDate, formatDuration, h, isFinal, statusLabel } from './console.js';

const timeline = document.getElementById('timeline');

function step(state, label, iso, note) {
  return h(
    'li',
    { class: `step ${state}`, dataset: { step: label.toLowerCase().replace(/\s+/g, '_') } },
    h('span', { class: 'marker', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'step-body' },
      h('strong', { text: label }),
      h(
        'span',
        { class: 'step-time' },
        iso ? h('time', { datetime: iso, text: formatDate(iso) }) : state === 'skipped' ? 'skipped' : 'pending',
      ),
      note ? h('span', { class: 'step-note', text: note }) : null,
    ),
  );
}

/**
 * queued → running → final. A step is done once it happened; the one the
 * job is in now is current; "Running" is skipped for a job that ended
 * without ever starting (cancelled while queued, image missing).
 */
export function renderTimeline(j) {
  const now = new Date().toISOString();
  const final = isFinal(j.status);
  // A cache hit never ran: it ends the moment it is stored (its startedAt is only that moment).
  const started = j.cached ? null : j.startedAt;
  const waited = between(j.createdAt, started ?? (j.status === 'queued' ? now : null));
  const ran = started ? between(started, j.finishedAt ?? now) : null;
  const total = final ? between(j.createdAt, j.finishedAt) : null;

  const queuedNote =
    j.status === 'queued' ? `waiting for ${formatDuration(waited)}` : j.cached ? 'upload stored' : 'upload stored, workflow started';
  const runningNote = j.cached
    ? 'no container ran: served from the cache'
    : started
      ? `waited ${formatDuration(waited)} in the queue` + (j.status === 'running' ? ` · running for ${formatDuration(ran)}` : '')
      : final
        ? 'never started'
        : null;
  const finalNote = !final
    ? null
    : ran !== null
      ? `ran ${formatDuration(ran)} · ${formatDuration(total)} in all`
      : `${formatDuration(total)} in all`;
  fill(
    timeline,
    step(j.status === 'queued' ? 'current' : 'done', 'Queued', j.createdAt, queuedNote),
    step(j.status === 'running' ? 'current' : started ? 'done' : final ? 'skipped' : 'pending', 'Running', started, runningNote),
    step(
      final ? `done ${j.status === 'completed' ? 'ok' : 'bad'}` : 'pending',
      final ? statusLabel(j.status) : 'Finished',
      j.finishedAt,
      finalNote,
    ),
  );
}
