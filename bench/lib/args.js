'use strict';
/**
 * The benchmarks' command lines: `--name value` pairs, as an object
 * ({ name: 'value' }). Anything that doesn't start with `--` is skipped.
 */
function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
}

module.exports = { parseArgs };
