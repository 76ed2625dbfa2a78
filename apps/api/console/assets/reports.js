// Reports (menagerie.report/1) as every page of the console shows them: a
// verdict's badge and banner, the worst of several verdicts, a tag's link to
// the jobs that produced it. The verdicts, worst first, are the API's
// (assets/statuses.js, written from @menagerie/core). Everything here comes
// from an engine: it goes into the page as text only (h() makes text nodes).
import { fill, h } from './console.js';
import { VERDICTS } from './statuses.js';

export { VERDICTS };

const LABELS = { malicious: 'Malicious', suspicious: 'Suspicious', informational: 'Informational', clean: 'Clean' };

/** `Suspicious` for `suspicious`. */
export const verdictLabel = (verdict) => LABELS[verdict] ?? String(verdict);

/** 0 for the worst verdict; past the last for none (or one this console does not know). */
export function verdictRank(verdict) {
  const i = VERDICTS.indexOf(verdict);
  return i < 0 ? VERDICTS.length : i;
}

/** The worst of the verdicts given; null when none of them is one. */
export function worstVerdict(verdicts) {
  let worst = VERDICTS.length;
  for (const v of verdicts) worst = Math.min(worst, verdictRank(v));
  return VERDICTS[worst] ?? null;
}

/** A verdict's badge (its reason in the title); a muted dash without one. */
export function verdictBadge(verdict, reason) {
  if (!VERDICTS.includes(verdict)) return h('span', { class: 'muted no-verdict', dataset: { verdict: 'none' }, text: '—' });
  return h('span', {
    class: `badge verdict verdict-${verdict}`,
    dataset: { verdict },
    title: reason ? `${verdictLabel(verdict)}: ${reason}` : undefined,
    text: verdictLabel(verdict),
  });
}

/**
 * Fills a banner: the verdict's badge and its reason, the banner coloured by
 * its level (data-verdict). `from` (an engine's name) says whose it is;
 * `none` is what to say without one.
 */
export function fillVerdictBanner(el, verdict, reason, { from = null, none = 'No verdict: the engine did not give one.' } = {}) {
  const known = VERDICTS.includes(verdict);
  el.dataset.verdict = known ? verdict : 'none';
  if (!known) return fill(el, h('span', { class: 'muted', text: none }));
  return fill(
    el,
    verdictBadge(verdict),
    from ? h('strong', { class: 'verdict-from breakable', text: from }) : null,
    reason ? h('span', { class: 'verdict-reason breakable', text: reason }) : null,
  );
}

/** The jobs list filtered by a tag (GET /console/api/jobs?tag=<type>:<value>). */
export function tagPath(type, value) {
  return `/console/jobs?tag=${encodeURIComponent(`${type}:${value}`)}`;
}

/** A string cut to `max` characters, and whether it was. */
export function cut(value, max) {
  const s = String(value ?? '');
  return s.length > max ? { text: `${s.slice(0, max)}…`, cut: true } : { text: s, cut: false };
}
