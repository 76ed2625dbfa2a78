import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';

/** What make_mail.py wrote into message.eml and message.msg. */
interface MailFacts {
  subject: string;
  from: string;
  url: string;
  hops: Array<{ from: string; by: string; with: string; date: string }>;
  attachments: Array<{ name: string; sha256: string; size: number }>;
}
const sample = (name: string) => samplePath('documents', name);
const expected = JSON.parse(readFileSync(sample('message.expected.json'), 'utf8')) as MailFacts;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('email engine (the email module, extract-msg), on messages written by hand', () => {
  it('is routed e-mail messages and Outlook messages, and not Office files or PDFs', () => {
    const engine = catalogueEngine('email');
    expect(refusesType(engine, detectType(readFileSync(sample('message.eml'))))).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('message.msg'))))).toBeNull();
    expect(refusesType(engine, 'application/vnd.ms-outlook')).toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('macro.xls'))))).not.toBeNull();
    expect(refusesType(engine, detectType(readFileSync(sample('active.pdf'))))).not.toBeNull();
  });

  it.each([
    ['message.eml', 'RFC 5322 message'],
    ['message.msg', 'Outlook message'],
  ])('reads the subject, the sender, the received hops in order and the URL of %s', async (name, format) => {
    const run = await runCatalogueEngine('email', sample(name));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Message', 'Subject')).toBe(expected.subject);
    expect(field(run.report, 'Message', 'From')).toBe(expected.from);
    expect(field(run.report, 'Message', 'Format')).toBe(format);
    expect(section(run.report, 'Headers', 'kv').fields.filter(([key]) => key === 'Received')).toHaveLength(expected.hops.length);
    const hops = section(run.report, 'Received path', 'table').rows.map(([hop, from, , by, withProtocol, , date]) => ({
      hop,
      from,
      by,
      with: withProtocol,
      date,
    }));
    expect(hops).toEqual(expected.hops.map((h, i) => ({ hop: String(i + 1), ...h })));
    expect(tagValues(run.report, 'ioc.url')).toEqual([expected.url]);
    expect(tagValues(run.report, 'ioc.domain')).toContain(new URL(expected.url).hostname);
    expect(tagValues(run.report, 'ioc.email')).toEqual(['alice@sender.example.org', 'bob@recipient.example.com']);
    expect(run.report?.summary).toBe(`${format} "${expected.subject}" from ${expected.from}: 3 hops, 2 attachments, 1 URL`);
    expect(run.report?.verdict).toBeUndefined();
  });

  it.each(['message.eml', 'message.msg'])('extracts both attachments of %s as children, with their names and bytes', async (name) => {
    const run = await runCatalogueEngine('email', sample(name));
    expect(expected.attachments.map((a) => a.name)).toEqual(['invoice.zip', 'note.txt']);
    expect(run.report?.children).toEqual(
      expected.attachments.map((a) => ({ path: `children/${a.name}`, relation: 'attachment', name: a.name })),
    );
    for (const [i, child] of run.report!.children.entries()) {
      const bytes = readFileSync(join(run.dir, child.path));
      expect({ name: child.name, size: bytes.length, sha256: sha256(bytes) }).toEqual(expected.attachments[i]);
    }
    expect(readFileSync(join(run.dir, 'children/invoice.zip')).readUInt32LE(0)).toBe(0x04034b50);
    expect(tagValues(run.report, 'email.attachment')).toEqual(['invoice.zip', 'note.txt']);
  });

  it.each([
    ['truncated.msg', /^Unreadable: not an Outlook message that extract-msg could read \(/],
    ['macro.xls', /^Unreadable: not an Outlook message that extract-msg could read \(/],
    ['active.pdf', /^Unreadable: no header fields: not an e-mail message$/],
  ])('reports %s, which is no message it can read, as unreadable (exit 0, informational)', async (name, summary) => {
    const run = await runCatalogueEngine('email', sample(name));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(summary);
    expect(run.report?.verdict?.value).toBe('informational');
    expect(run.report?.children).toEqual([]);
    expect(JSON.parse(run.result!.toString('utf8')).error).toBeTruthy();
  });
});
