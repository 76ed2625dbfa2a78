// The job page's report (menagerie.report/1): the verdict and summary from the
// job's digest (GET /jobs/<id>) as soon as it has one, then, once the job has
// ended, the whole report from GET /report/<id>: its tags by type (each a link
// to the jobs that produced it), its sections and the files it extracted.
// All of it is an engine's words: drawn as text only, and bounded (a long
// table, text or list is cut, and says so).
import { ApiError, api, errorText, fill, formatCount, formatDate, h } from './console.js';
import { cut, fillVerdictBanner, tagPath } from './reports.js';

/** What the page draws at most of one report. */
export const REPORT_DRAW_LIMITS = { tagsPerType: 200, rows: 200, fields: 500, children: 200, textChars: 100_000, cellChars: 2_000 };
const LIMITS = REPORT_DRAW_LIMITS;

const panel = document.getElementById('report');
const banner = document.getElementById('report-verdict');
const summary = document.getElementById('report-summary');
const meta = document.getElementById('report-meta');
const note = document.getElementById('report-note');
const content = document.getElementById('report-body');

const cutNote = (shown, total, what) =>
  h('p', { class: 'notice small report-cut', text: `Only the first ${formatCount(shown)} of ${formatCount(total)} ${what} are shown.` });

/** A cell's text, cut at cellChars (the title says so). */
function cellText(value) {
  const c = cut(value, LIMITS.cellChars);
  return { text: c.text, title: c.cut ? `cut at ${formatCount(LIMITS.cellChars)} characters` : undefined };
}

function part(name, title, ...children) {
  return h('section', { class: 'report-part', dataset: { part: name } }, h('h3', { text: title }), ...children);
}

/** The tags, grouped by type in the order first seen; each value a link to the jobs list filtered by it. */
function renderTags(tags) {
  const groups = new Map();
  for (const t of tags) {
    const type = String(t?.type ?? '');
    if (!groups.has(type)) groups.set(type, []);
    groups.get(type).push(String(t?.value ?? ''));
  }
  if (groups.size === 0) return null;
  const items = [...groups].map(([type, values]) =>
    h(
      'div',
      { class: 'tag-group', dataset: { type } },
      h('dt', {}, h('span', { class: 'mono', text: type }), h('span', { class: 'count', text: ` ${formatCount(values.length)}` })),
      h(
        'dd',
        {},
        values
          .slice(0, LIMITS.tagsPerType)
          .map((value) => h('a', { class: 'tag mono breakable', href: tagPath(type, value), title: `Jobs with ${type}: ${value}` }, value)),
        values.length > LIMITS.tagsPerType ? cutNote(LIMITS.tagsPerType, values.length, `${type} tags`) : null,
      ),
    ),
  );
  return part('tags', `Tags (${formatCount(tags.length)})`, h('dl', { class: 'tags', id: 'report-tags' }, items));
}

function kv(section) {
  const fields = Array.isArray(section.fields) ? section.fields : [];
  return [
    h(
      'dl',
      { class: 'kv' },
      fields.slice(0, LIMITS.fields).map((field) => {
        const [key, value] = Array.isArray(field) ? field : [field, ''];
        const c = cellText(value);
        return h(
          'div',
          { class: 'kv-row' },
          h('dt', { class: 'breakable', text: key }),
          h('dd', { class: 'breakable', title: c.title, text: c.text }),
        );
      }),
    ),
    fields.length > LIMITS.fields ? cutNote(LIMITS.fields, fields.length, 'fields') : null,
  ];
}

function table(section) {
  const columns = Array.isArray(section.columns) ? section.columns : [];
  const rows = Array.isArray(section.rows) ? section.rows : [];
  return [
    rows.length > LIMITS.rows ? cutNote(LIMITS.rows, rows.length, 'rows') : null,
    h(
      'div',
      { class: 'scroll-box' },
      h(
        'table',
        { class: 'report-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            columns.map((c) => h('th', { class: 'breakable', text: c })),
          ),
        ),
        h(
          'tbody',
          {},
          rows.slice(0, LIMITS.rows).map((row) =>
            h(
              'tr',
              {},
              (Array.isArray(row) ? row : []).map((cell) => {
                const c = cellText(cell);
                return h('td', { class: 'breakable', title: c.title, text: c.text });
              }),
            ),
          ),
        ),
      ),
    ),
  ];
}

function text(section) {
  const c = cut(section.text, LIMITS.textChars);
  return [
    c.cut
      ? h('p', { class: 'notice small report-cut', text: `Only the first ${formatCount(LIMITS.textChars)} characters are shown.` })
      : null,
    h('pre', { class: 'code scroll-box', text: c.text }),
  ];
}

const KINDS = { kv, table, text };

function renderSection(section, i) {
  const draw = KINDS[section?.kind];
  if (!draw) return null; // the schema has no other kind
  return h(
    'section',
    { class: 'report-part report-section', dataset: { part: 'section', kind: section.kind, index: String(i) } },
    h('h3', { class: 'breakable', text: section.title }),
    ...draw(section),
  );
}

function renderChildren(children) {
  if (children.length === 0) return null;
  return part(
    'children',
    `Extracted files (${formatCount(children.length)})`,
    children.length > LIMITS.children ? cutNote(LIMITS.children, children.length, 'files') : null,
    h(
      'div',
      { class: 'scroll-box' },
      h(
        'table',
        { class: 'report-table children', id: 'report-children' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Relation' }), h('th', { text: 'Name' }), h('th', { text: 'Path' }))),
        h(
          'tbody',
          {},
          children
            .slice(0, LIMITS.children)
            .map((c) =>
              h(
                'tr',
                { dataset: { relation: String(c?.relation ?? '') } },
                h('td', { text: c?.relation }),
                h('td', { class: 'breakable', text: c?.name ?? '—' }),
                h('td', { class: 'mono breakable', text: c?.path }),
              ),
            ),
        ),
      ),
    ),
  );
}

/** The digest's tag counts, when the tags themselves are gone. */
function tagCounts(counts) {
  const types = Object.entries(counts ?? {});
  if (types.length === 0) return null;
  return part(
    'tags',
    'Tags',
    h(
      'dl',
      { class: 'tags', id: 'report-tags' },
      types.map(([type, n]) =>
        h(
          'div',
          { class: 'tag-group', dataset: { type } },
          h('dt', {}, h('span', { class: 'mono', text: type }), h('span', { class: 'count', text: ` ${formatCount(n)}` })),
        ),
      ),
    ),
  );
}

function gone(message, counts) {
  note.textContent = message;
  note.hidden = false;
  fill(content, tagCounts(counts));
  panel.dataset.report = 'gone';
}

/** From the job's digest: the verdict and summary, or nothing when the engine wrote no report. */
export function renderReport(j) {
  panel.hidden = !j.report;
  if (!j.report) return;
  fillVerdictBanner(banner, j.report.verdict, j.report.reason);
  summary.textContent = j.report.summary;
  const types = Object.values(j.report.tags ?? {});
  meta.textContent = `${formatCount(types.reduce((a, b) => a + b, 0))} tags of ${formatCount(types.length)} types`;
  if (!j.report.url && j.expiredAt && panel.dataset.report !== 'gone') {
    gone(`The full report (its tags, sections and extracted files) was removed by retention on ${formatDate(j.expiredAt)}.`, j.report.tags);
  }
}

/** Once the job has ended: the whole report, drawn below the digest. */
export async function loadReport(j) {
  if (!j.report?.url) return;
  let report;
  try {
    report = await api(`/report/${encodeURIComponent(j.jobid)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 410) return gone(`The full report is gone: ${err.message}.`, j.report.tags);
    fill(content, h('p', { class: 'notice danger', text: `Could not load the report: ${errorText(err)}` }));
    return;
  }
  const sections = Array.isArray(report?.sections) ? report.sections : [];
  fill(
    content,
    renderTags(Array.isArray(report?.tags) ? report.tags : []),
    sections.map(renderSection),
    renderChildren(Array.isArray(report?.children) ? report.children : []),
  );
  panel.dataset.report = 'loaded';
}
