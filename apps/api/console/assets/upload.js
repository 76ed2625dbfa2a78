// Upload page: pick an engine and a file (or drop one), send it to
// POST /<engine>/upload with a progress bar, then open the job's page.
import { api, errorText, formatBytes, h, jobPath, notice } from './console.js';

const form = document.getElementById('upload-form');
const engineSelect = document.getElementById('engine');
const engineHint = document.getElementById('engine-hint');
const input = document.getElementById('file');
const dropzone = document.getElementById('dropzone');
const fileInfo = document.getElementById('file-info');
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

function selectedEngine() {
  return engines.find((e) => e.name === engineSelect.value) ?? null;
}

function problem() {
  const engine = selectedEngine();
  if (!engine) return 'Choose an engine.';
  if (!file) return null;
  if (file.size === 0) return 'This file is empty: there is nothing to analyse.';
  if (file.size > engine.sizelimit) return `This file (${formatBytes(file.size)}) is over ${engine.name}'s limit of ${formatBytes(engine.sizelimit)}.`;
  return null;
}

function update() {
  const engine = selectedEngine();
  engineHint.textContent = engine
    ? `${engine.image} · files up to ${formatBytes(engine.sizelimit)} · ${engine.jobs.queued} queued, ${engine.jobs.running} running${engine.available ? '' : ' · unavailable: ' + (engine.unavailableReason ?? 'image missing')}`
    : '';
  fileInfo.textContent = file ? `${file.name} · ${formatBytes(file.size)}` : 'No file chosen';
  dropzone.classList.toggle('has-file', Boolean(file));
  const why = problem();
  if (!xhr) notice(error, file ? why : null);
  submit.disabled = Boolean(xhr) || !file || Boolean(why);
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

function finish() {
  xhr = null;
  abort.hidden = true;
  engineSelect.disabled = false;
  input.disabled = false;
  dropzone.classList.remove('busy');
  submit.textContent = 'Upload';
  update();
}

function send() {
  const engine = selectedEngine();
  const why = problem();
  if (!file || !engine || why) {
    notice(error, why ?? 'Choose a file.');
    return;
  }
  notice(error, null);
  const body = new FormData();
  body.append('upload', file, file.name);
  xhr = new XMLHttpRequest();
  xhr.open('POST', `/${encodeURIComponent(engine.name)}/upload`);
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', (e) => setProgress(e.loaded, e.lengthComputable ? e.total : file.size));
  xhr.upload.addEventListener('load', () => {
    setProgress(file.size, file.size);
    progressText.textContent = `100% · ${formatBytes(file.size)} sent · waiting for the server…`;
  });
  xhr.addEventListener('load', () => {
    const answer = xhr.response;
    if (xhr.status === 201 && answer?.jobid) {
      progressText.textContent = 'Stored. Opening the job…';
      location.assign(jobPath(answer.jobid));
      return;
    }
    progress.classList.add('failed');
    notice(error, answer?.error ? `${answer.error}: ${answer.message}` : `The upload failed (HTTP ${xhr.status}).`);
    finish();
  });
  xhr.addEventListener('error', () => {
    progress.classList.add('failed');
    notice(error, 'The upload failed: the connection was lost.');
    finish();
  });
  xhr.addEventListener('abort', () => {
    progress.hidden = true;
    notice(error, 'The upload was cancelled.');
    finish();
  });
  progress.hidden = false;
  progress.classList.remove('failed');
  setProgress(0, file.size);
  abort.hidden = false;
  engineSelect.disabled = true;
  input.disabled = true;
  dropzone.classList.add('busy');
  submit.disabled = true;
  submit.textContent = 'Uploading…';
  xhr.send(body);
}

input.addEventListener('change', () => choose(input.files?.[0]));
engineSelect.addEventListener('change', () => {
  const p = new URLSearchParams(location.search);
  p.set('engine', engineSelect.value);
  history.replaceState(null, '', `?${p}`);
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
  if (files.length > 1) notice(error, `Only one file is sent per job: ${files[0].name} was kept.`);
});
// A file dropped anywhere else must not make the browser navigate away to it.
for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());

api('/engines')
  .then((answer) => {
    engines = answer.engines ?? [];
    const wanted = new URLSearchParams(location.search).get('engine');
    engineSelect.replaceChildren(
      h('option', { value: '', text: engines.length ? 'Choose an engine…' : 'No engines configured' }),
      ...engines.map((e) => h('option', { value: e.name, text: e.available ? e.name : `${e.name} (unavailable)` })),
    );
    if (wanted && engines.some((e) => e.name === wanted)) engineSelect.value = wanted;
    else if (engines.length === 1) engineSelect.value = engines[0].name;
    update();
  })
  .catch((err) => {
    engineSelect.replaceChildren(h('option', { value: '', text: 'Engines could not be loaded' }));
    notice(error, `Could not load the engines: ${errorText(err)}`);
  });
