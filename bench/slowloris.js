// Slow-loris on uploads (bench/slowloris.sh): N connections each send the head of a
// multipart upload of a large file and 300 KiB of it, then one byte every few seconds,
// for a bounded time. The API's RSS is sampled every 250 ms; the figure is its peak
// over the idle baseline, against the bound the part-buffer pool promises.
'use strict';
const { connect } = require('node:net');
const { readFileSync, writeFileSync } = require('node:fs');
const { parseArgs } = require('./lib/args');

const args = parseArgs();
const api = new URL(args.api);
const pid = Number(args['api-pid']);
const clients = Number(args.clients ?? 300);
const seconds = Number(args.seconds ?? 90);
const engine = args.engine ?? 'filemeta';
const MIB = 1024 * 1024;
const PART_BUFFERS = 16; // storage.s3.partBuffers' default
const PART = 5 * MIB;
const SMALL = 256 * 1024; // kept as chunks below the single-PUT size

const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function slowClient(outcomes) {
  return new Promise((resolve) => {
    const socket = connect(Number(api.port), api.hostname);
    let answer = '';
    let trickle;
    const head = Buffer.from(
      '--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
    );
    socket.on('connect', () => {
      socket.write(
        [
          `POST /${engine}/upload HTTP/1.1`,
          `Host: ${api.host}`,
          'Content-Type: multipart/form-data; boundary=XYZ',
          `Content-Length: ${200 * MIB}`,
          'Connection: close',
          '',
          '',
        ].join('\r\n'),
      );
      socket.write(Buffer.concat([head, Buffer.alloc(300 * 1024, 0x61)]));
      trickle = setInterval(() => socket.write(Buffer.from('a')), 5000);
    });
    socket.on('data', (c) => (answer += c.toString('latin1')));
    const done = () => {
      clearInterval(trickle);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none';
      const error = /"error":"([A-Z_]+)"/.exec(answer)?.[1] ?? '';
      outcomes.set(`${status} ${error}`.trim(), (outcomes.get(`${status} ${error}`.trim()) ?? 0) + 1);
      resolve();
    };
    socket.on('close', done);
    socket.on('error', () => undefined);
    setTimeout(() => socket.destroy(), seconds * 1000);
  });
}

(async () => {
  await sleep(2000);
  const baseline = rss();
  const outcomes = new Map();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 250);
  const started = Date.now();
  await Promise.all(Array.from({ length: clients }, () => slowClient(outcomes)));
  clearInterval(sampler);
  const bound = PART_BUFFERS * PART + clients * SMALL + 64 * MIB;
  const result = {
    date: new Date().toISOString(),
    clients,
    seconds: Math.round((Date.now() - started) / 1000),
    baselineMiB: +(baseline / MIB).toFixed(1),
    peakMiB: +(peak / MIB).toFixed(1),
    growthMiB: +((peak - baseline) / MIB).toFixed(1),
    boundMiB: +(bound / MIB).toFixed(1),
    withoutPoolMiB: +((clients * PART) / MIB).toFixed(1),
    outcomes: Object.fromEntries(outcomes),
  };
  writeFileSync(args.out, JSON.stringify(result, null, 2));
  console.log(`slow-loris uploads: ${clients} clients, each 300 KiB then a byte every 5 s, for up to ${seconds} s`);
  console.log(`  API RSS: ${result.baselineMiB} MiB idle, ${result.peakMiB} MiB at peak: +${result.growthMiB} MiB`);
  console.log(
    `  target: growth <= ${result.boundMiB} MiB (16 part buffers x 5 MiB + 256 KiB per connection + 64 MiB): ${peak - baseline <= bound ? 'met' : 'MISSED'}`,
  );
  console.log(`  (one 5 MiB buffer per connection, as before the pool, would be ${result.withoutPoolMiB} MiB)`);
  console.log(`  answers: ${JSON.stringify(result.outcomes)}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
