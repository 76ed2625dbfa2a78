import { Injectable, Logger, NotFoundException, type OnModuleInit } from '@nestjs/common';
import type { Response } from 'express';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { STATUSES_ASSET, statusesModule } from './statuses-asset';

/** apps/api/console, from apps/api/src/console (ts) and apps/api/dist/console (js) alike. */
export const CONSOLE_ASSET_DIR = resolve(__dirname, '../../console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The pages: each `<name>.html` holds only its `<main>`; layout.html gives them one head and one top bar. */
const PAGES: Record<string, { title: string; section: string }> = {
  engines: { title: 'Engines', section: '/console' },
  nodes: { title: 'Nodes', section: '/console/nodes' },
  jobs: { title: 'Jobs', section: '/console/jobs' },
  job: { title: 'Job', section: '/console/jobs' },
  submission: { title: 'Submission', section: '/console/jobs' },
  upload: { title: 'Upload', section: '/console/upload' },
};
const NAV: Array<[string, string]> = [
  ['/console', 'Engines'],
  ['/console/nodes', 'Nodes'],
  ['/console/jobs', 'Jobs'],
  ['/console/upload', 'Upload'],
];

function renderPage(layout: string, page: string, main: string): string {
  const { title, section } = PAGES[page];
  const nav = NAV.map(([href, label]) => `        <a href="${href}"${href === section ? ' aria-current="page"' : ''}>${label}</a>\n`).join(
    '',
  );
  // Function replacements: page text is inserted as is, `$` patterns and all.
  return layout
    .replaceAll('{{title}}', () => title)
    .replaceAll('{{page}}', () => page)
    .replace('{{nav}}', () => nav)
    .replace('{{main}}', () => main.replace(/^<!--.*?-->\n/, ''));
}

interface Asset {
  body: Buffer;
  type: string;
}

/**
 * The console's static files (apps/api/console: pages at the top, assets/
 * beside them), read once at start and served from memory, with one written
 * by the API itself: assets/statuses.js, the job statuses from @menagerie/core.
 * Only files that were there at start, with a known type, can be served: a
 * request names a key in a map, never a path.
 */
@Injectable()
export class ConsoleAssets implements OnModuleInit {
  private readonly logger = new Logger(ConsoleAssets.name);
  private readonly files = new Map<string, Asset>();

  constructor(private readonly dir: string = CONSOLE_ASSET_DIR) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.load('');
      await this.load('assets');
      this.files.set(STATUSES_ASSET, { body: Buffer.from(statusesModule()), type: TYPES['.js'] });
      this.renderPages();
    } catch (err) {
      this.logger.error(`the console's files could not be read from ${this.dir}: ${(err as Error).message}; /console will answer 404`);
    }
  }

  private async load(sub: string): Promise<void> {
    const entries = await readdir(join(this.dir, sub), { withFileTypes: true });
    for (const entry of entries) {
      const type = TYPES[extname(entry.name)];
      if (!entry.isFile() || !type || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(entry.name)) continue;
      this.files.set(sub ? `${sub}/${entry.name}` : entry.name, { body: await readFile(join(this.dir, sub, entry.name)), type });
    }
  }

  private renderPages(): void {
    const layout = this.files.get('layout.html');
    if (!layout) throw new Error('layout.html is missing');
    this.files.delete('layout.html');
    for (const page of Object.keys(PAGES)) {
      const main = this.files.get(`${page}.html`);
      if (!main) throw new Error(`${page}.html is missing`);
      main.body = Buffer.from(renderPage(layout.body.toString('utf8'), page, main.body.toString('utf8')));
    }
  }

  /** Sends a file by its key (`jobs.html`, `assets/console.css`); 404 for any other. */
  send(res: Response, key: string): void {
    const file = this.files.get(key);
    if (!file) throw new NotFoundException();
    // Revalidated on every use (Express answers 304 from the ETag), so an upgrade shows at once.
    res.setHeader('Cache-Control', 'no-cache');
    res.type(file.type).send(file.body);
  }
}
