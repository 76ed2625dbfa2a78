/**
 * Preloaded into a process under benchmark (`node -r ./bench/cpu-profile.js app.js`)
 * so that a CPU profile covers one phase only: the first SIGWINCH starts the
 * V8 profiler, the second writes the profile to $MENAGERIE_CPU_PROFILE and
 * stops it. (`node --cpu-prof` writes only at a clean exit, which a process
 * stopped by a signal never has, and covers the boot too.) SIGWINCH, because
 * Node keeps SIGUSR1 for its inspector and Nest's shutdown hooks end the API on SIGUSR2.
 */
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const out = process.env.MENAGERIE_CPU_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
        .then(() => post('Profiler.start'));
      return;
    }
    running = false;
    void post('Profiler.stop').then(({ profile }) => {
      writeFileSync(out, JSON.stringify(profile));
      process.stderr.write(`cpu profile written to ${out}\n`);
    });
  });
}
