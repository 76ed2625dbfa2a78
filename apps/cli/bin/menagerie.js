#!/usr/bin/env node
'use strict';
// The command committed with its executable bit, so that `npx menagerie` works
// as soon as `npm ci` ran; the code it runs is the build's (npx tsc -b tsconfig.json).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(built)) {
  process.stderr.write('menagerie: NOT_BUILT: the CLI is not built yet; run: npx tsc -b tsconfig.json\n');
  process.exit(1);
}
require(built).main(process.argv);
