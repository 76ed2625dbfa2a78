// Upload page: pick one engine, several, or "auto", and a file (or drop one).
// One engine: POST /<engine>/upload, then the job's page. Several or auto:
// POST /submit (engines=a,b or engines=auto), then the submission's page.
// Either way with a progress bar, and `force=true` when a new run is asked for.
import { api, errorText, formatBytes, h, jobPath, notice, submissionPath } from './console.js';

const form = document.getElementById('upload-form');
const modeInputs = [...document.querySelectorAll('input[name="mode"]')];
const oneEngine = document.getElementById('one-engine');
const engineSelect = document.getElementById('engine');
const several = document.getElementById('several');
const engineChecks = document.getElementById('engine-checks');
const engineHint = document.getElementById('engine-hint');
const input = document.getElementById('file');
const dropzone = document.getElementById('dropzone');
const fileInfo = document.getElementById('file-info');
const force = document.getElementById('force');
const progress = document.getElementById('progress');
const progressbar = document.getElementById('progressbar');
const bar = document.getElementById('progress-bar');
const progressText = document.getElementById('progress-text');
const error = document.getElementById('error');
const submit = document.getElementById('submit');
const abort = document.getElementById('abort');

let engines = [];
let file = null;
let xhr = null;

function mode() {
  return modeInputs.find((m) => m.checked)?.value ?? 'one';
}

function selectedEngine() {
  return engines.find((e) => e.name === engineSelect.value) ?? null;
}

function checkedEngines() {
  const names = new Set([...engineChecks.querySelectorAll('input[type="checkbox"]:checked')].map((c) => c.value));
  return engines.filter((e) => names.has(e.name));
}

/** The engines the upload names: one, the checked ones, or none for auto (the server picks). */
function chosen() {
  if (mode() === 'one') return selectedEngine() ? [selectedEngine()] : [];
  if (mode() === 'several') return checkedEngines();
  return [];
}

function problem() {
  const m = mode();
  if (m === 'one' && !selectedEngine()) return 'Choose an engine.';
  if (m === 'several' && checkedEngines().length === 0) return 'Choose at least one engine.';
  if (!file) return null;
  if (file.size === 0) return 'This file is empty: there is nothing to analyse.';
  const over = chosen().find((e) => file.size > e.sizelimit);
  if (over) return `This file (${formatBytes(file.size)}) is over ${over.name}'s limit of ${formatBytes(over.sizelimit)}.`;
  return null;
}

/** Which detected types the engine takes (its `accepts` and `rejects` regexes), when it says. */
function typeFacts(engine) {
  return [
    engine.accepts ? ` · accepts types matching /${engine.accepts}/` : '',
    engine.rejects ? ` · rejects /${engine.rejects}/` : '',
  ].join('');
}

function engineFacts(engine) {
  return `${engine.image} · files up to ${formatBytes(engine.sizelimit)}${typeFacts(engine)} · ${engine.jobs.queued} queued, ${engine.jobs.running} running${engine.available ? '' : ' · unavailable: ' + (engine.unavailableReason ?? 'image missing')}`;
}

function hint() {
  const m = mode();
  if (m === 'one') {
    const engine = selectedEngine();
    return engine ? engineFacts(engine) : '';
  }
  if (m === 'several') {
    const picked = checkedEngines();
    if (!picked.length) return 'Tick the engines to run: the file is sent once, and each engine gets a job of its own.';
    const down = picked.filter((e) => !e.available).map((e) => e.name);
    return `${picked.length} ${picked.length === 1 ? 'engine' : 'engines'}: ${picked.map((e) => e.name).join(', ')}; the file is sent once.${down.length ? ` Unavailable now: ${down.join(', ')}.` : ''}`;
  }
  return `The server detects the file's type from its bytes and runs every engine that accepts it (${engines.length} configured).`;
}

function update() {
  const m = mode();
  oneEngine.hidden = m !== 'one';
  several.hidden = m !== 'several';
  engineHint.textContent = hint();
  fileInfo.textContent = file ? `${file.name} · ${formatBytes(file.size)}` : 'No file chosen';
  dropzone.classList.toggle('has-file', Boolean(file));
  const why = problem();
  if (!xhr) notice(error, file ? why : null);
  submit.disabled = Boolean(xhr) || !file || Boolean(why);
}

/** Keeps the choice in the address (?engine=x, ?engines=a,b, ?engines=auto), so it can be linked to and survives a reload. */
function syncUrl() {
  const p = new URLSearchParams(location.search);
  p.delete('engine');
  p.delete('engines');
  const m = mode();
  if (m === 'one' && engineSelect.value) p.set('engine', engineSelect.value);
  if (m === 'several')
    p.set(
      'engines',
      checkedEngines()
        .map((e) => e.name)
        .join(','),
    );
  if (m === 'auto') p.set('engines', 'auto');
  const search = p.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
}

function choose(f) {
  file = f ?? null;
  update();
}

function setProgress(sent, total) {
  const pct = total > 0 ? Math.min(100, Math.floor((sent / total) * 100)) : 0;
  bar.style.width = `${pct}%`; // CSSOM, allowed by the style-src CSP (no inline style attribute)
  progressbar.setAttribute('aria-valuenow', String(pct));
  progressText.textContent = `${pct}% · ${formatBytes(sent)} of ${formatBytes(total)}`;
}

/** While an upload is under way, nothing that would change it can be touched. */
function setBusy(busy) {
  for (const el of [...modeInputs, engineSelect, ...engineChecks.querySelectorAll('input'), input, force]) el.disabled = busy;
  dropzone.classList.toggle('busy', busy);
  abort.hidden = !busy;
}

/** The upload is over (failed or cancelled): the form is usable again, and `message` says why it ended. */
function finish(message) {
  xhr = null;
  setBusy(false);
  submit.textContent = 'Upload';
  update();
  notice(error, message); // after update(), which would clear it: the file itself is fine
}

/** Where the upload goes and what it lands on: one engine keeps the original call. */
function target() {
  const m = mode();
  if (m === 'one') return { url: `/${encodeURIComponent(selectedEngine().name)}/upload`, engines: null };
  return {
    url: '/submit',
    engines:
      m === 'auto'
        ? 'auto'
        : checkedEngines()
            .map((e) => e.name)
            .join(','),
  };
}

function send() {
  const why = problem();
  if (!file || why) {
    notice(error, why ?? 'Choose a file.');
    return;
  }
  notice(error, null);
  const { url, engines: named } = target();
  // The fields go before the file, so the server has them when the file arrives.
  const body = new FormData();
  if (named) body.append('engines', named);
  if (force.checked) body.append('force', 'true');
  body.append('upload', file, file.name);
  xhr = new XMLHttpRequest();
  xhr.open('POST', url);
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', (e) => setProgress(e.loaded, e.lengthComputable ? e.total : file.size));
  xhr.upload.addEventListener('load', () => {
    setProgress(file.size, file.size);
    progressText.textContent = `100% · ${formatBytes(file.size)} sent · waiting for the server…`;
  });
  xhr.addEventListener('load', () => {
    const answer = xhr.response;
    if (xhr.status === 201 && answer?.submissionId) {
      progressText.textContent = 'Stored. Opening the submission…';
      location.assign(submissionPath(answer.submissionId));
      return;
    }
    if (xhr.status === 201 && answer?.jobid) {
      progressText.textContent = 'Stored. Opening the job…';
      location.assign(jobPath(answer.jobid));
      return;
    }
    progress.classList.add('failed');
    finish(answer?.error ? `${answer.error}: ${answer.message}` : `The upload failed (HTTP ${xhr.status}).`);
  });
  xhr.addEventListener('error', () => {
    progress.classList.add('failed');
    finish('The upload failed: the connection was lost.');
  });
  xhr.addEventListener('abort', () => {
    progress.hidden = true;
    finish('The upload was cancelled.');
  });
  progress.hidden = false;
  progress.classList.remove('failed');
  setProgress(0, file.size);
  setBusy(true);
  submit.disabled = true;
  submit.textContent = 'Uploading…';
  xhr.send(body);
}

input.addEventListener('change', () => choose(input.files?.[0]));
for (const m of modeInputs) {
  m.addEventListener('change', () => {
    syncUrl();
    update();
  });
}
engineSelect.addEventListener('change', () => {
  syncUrl();
  update();
});
engineChecks.addEventListener('change', () => {
  syncUrl();
  update();
});
form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!xhr) send();
});
abort.addEventListener('click', () => xhr?.abort());

for (const type of ['dragenter', 'dragover']) {
  dropzone.addEventListener(type, (e) => {
    e.preventDefault();
    if (xhr) return;
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    dropzone.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'dragend']) dropzone.addEventListener(type, () => dropzone.classList.remove('dragging'));
dropzone.addEventListener('drop', (e) => {
  e.preventDefault();
  dropzone.classList.remove('dragging');
  if (xhr) return;
  const files = e.dataTransfer?.files;
  if (!files?.length) return;
  choose(files[0]);
  if (files.length > 1) notice(error, `Only one file is sent per upload: ${files[0].name} was kept.`);
});
// A file dropped anywhere else must not make the browser navigate away to it.
for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());

function engineCheck(e, checked) {
  return h(
    'label',
    { class: 'check', dataset: { engine: e.name }, title: typeFacts(e).replace(/^ · /, '') || undefined },
    h('input', { type: 'checkbox', name: 'engines', value: e.name, checked }),
    h('span', { text: e.available ? e.name : `${e.name} (unavailable)` }),
  );
}

api('/engines')
  .then((answer) => {
    engines = answer.engines ?? [];
    const params = new URLSearchParams(location.search);
    const wanted = params.get('engine');
    const list = params.get('engines');
    const ticked = new Set(list && list !== 'auto' ? list.split(',').map((s) => s.trim()) : []);
    engineSelect.replaceChildren(
      h('option', { value: '', text: engines.length ? 'Choose an engine…' : 'No engines configured' }),
      ...engines.map((e) => h('option', { value: e.name, text: e.available ? e.name : `${e.name} (unavailable)` })),
    );
    engineChecks.replaceChildren(
      ...(engines.length
        ? engines.map((e) => engineCheck(e, ticked.has(e.name)))
        : [h('span', { class: 'muted', text: 'No engines configured' })]),
    );
    if (list === 'auto') document.getElementById('mode-auto').checked = true;
    else if (list !== null) document.getElementById('mode-several').checked = true;
    if (wanted && engines.some((e) => e.name === wanted)) engineSelect.value = wanted;
    else if (engines.length === 1) engineSelect.value = engines[0].name;
    update();
  })
  .catch((err) => {
    engineSelect.replaceChildren(h('option', { value: '', text: 'Engines could not be loaded' }));
    engineChecks.replaceChildren(h('span', { class: 'muted', text: 'Engines could not be loaded' }));
    notice(error, `Could not load the engines: ${errorText(err)}`);
  });

update();
