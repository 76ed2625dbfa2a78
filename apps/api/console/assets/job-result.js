// The job page's end: the result preview (GET /console/api/jobs/<id>/preview)
// and the engine's full log (GET /console/api/jobs/<id>/log).
import { ApiError, api, errorText, fill, formatBytes, formatCount, h } from './console.js';

const preview = document.getElementById('preview');
const logBox = document.getElementById('log');
const logMeta = document.getElementById('log-meta');

function renderArchive(p) {
  const filter = h('input', {
    type: 'search',
    class: 'entry-filter',
    placeholder: 'Filter entries',
    'aria-label': 'Filter entries',
    spellcheck: 'false',
  });
  const body = h('tbody');
  const files = p.entries.filter((e) => e.type !== 'directory').length;
  const showEntries = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = needle ? p.entries.filter((e) => e.name.toLowerCase().includes(needle)) : p.entries;
    body.replaceChildren(
      ...shown.map((e) =>
        h(
          'tr',
          { dataset: { type: e.type } },
          h('td', { class: 'mono breakable entry-name', text: e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name }),
          h(
            'td',
            { class: 'num', title: e.size === null ? undefined : `${e.size} bytes` },
            e.type === 'directory' ? 'dir' : e.type === 'symlink' ? 'link' : formatBytes(e.size),
          ),
        ),
      ),
    );
  };
  filter.addEventListener('input', showEntries);
  showEntries();
  return [
    h(
      'div',
      { class: 'preview-bar' },
      h('span', { class: 'muted', text: `${p.format} archive · ${formatCount(p.entries.length)} entries (${formatCount(files)} files)` }),
      filter,
    ),
    p.truncated ? h('p', { class: 'notice small', text: p.note ?? 'Not every entry is listed.' }) : null,
    h(
      'div',
      { class: 'scroll-box' },
      h(
        'table',
        { class: 'entries' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { class: 'num', text: 'Size' }))),
        body,
      ),
    ),
  ];
}

function renderPreview(p) {
  preview.dataset.kind = p.kind;
  switch (p.kind) {
    case 'json':
      return fill(
        preview,
        h('p', { class: 'muted small', text: 'JSON, pretty-printed' }),
        p.note ? h('p', { class: 'notice small', id: 'preview-note', text: p.note }) : null,
        h('pre', { class: 'code scroll-box', id: 'preview-json', text: p.text }),
      );
    case 'text':
      return fill(
        preview,
        h('p', { class: 'muted small', text: p.truncated ? `Text · only the beginning of ${formatBytes(p.size)} is shown` : 'Text' }),
        h('pre', { class: 'code scroll-box', id: 'preview-text', text: p.text }),
      );
    case 'archive':
      return fill(preview, ...renderArchive(p));
    case 'binary':
      return fill(
        preview,
        h('p', {
          class: 'muted small',
          text: `Binary${p.note ? ` (${p.note})` : ''} · the first ${p.bytes} of ${formatCount(p.size)} bytes`,
        }),
        h('pre', { class: 'code hex scroll-box', id: 'preview-hex', text: p.hex }),
      );
    default:
      return fill(preview, h('p', { class: 'muted', text: p.reason ? `No result to show: ${p.reason}.` : 'No result to show.' }));
  }
}

export async function loadPreview(id) {
  fill(preview, h('p', { class: 'muted', text: 'Loading the preview…' }));
  try {
    renderPreview(await api(`/console/api/jobs/${encodeURIComponent(id)}/preview`));
  } catch (err) {
    fill(preview, h('p', { class: 'notice danger', text: `Could not load the preview: ${errorText(err)}` }));
  }
}

export async function loadLog(id) {
  try {
    const res = await fetch(`/console/api/jobs/${encodeURIComponent(id)}/log`, { cache: 'no-store' });
    if (res.status === 204) {
      fill(logBox, h('p', { class: 'muted', text: 'No log was stored for this job.' }));
      return;
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new ApiError(res.status, body.error ?? `HTTP_${res.status}`, body.message ?? res.statusText);
    }
    const text = await res.text();
    const size = Number(res.headers.get('X-Log-Size') ?? text.length);
    logMeta.textContent = `${formatBytes(size)}${res.headers.get('X-Log-Truncated') === 'true' ? ' · first part shown' : ''}`;
    fill(
      logBox,
      text
        ? h('pre', { class: 'code log scroll-box', id: 'log-text', text })
        : h('p', { class: 'muted', text: 'The engine printed nothing.' }),
    );
  } catch (err) {
    fill(logBox, h('p', { class: 'notice danger', text: `Could not load the log: ${errorText(err)}` }));
  }
}
