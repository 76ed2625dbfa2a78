import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { detectType, TYPE_HEAD_BYTES, TypeTap } from '@menagerie/storage';
import { FIXTURES } from '../support/env';

/** A zip of stored (uncompressed) entries with a central directory, as zip tools write them. */
function zip(names: string[], filler = 0): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const data = Buffer.alloc(filler, 0x41);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    const entry = Buffer.concat([local, Buffer.from(name, 'latin1'), data]);
    locals.push(entry);
    centrals.push(Buffer.concat([central, Buffer.from(name, 'latin1')]));
    offset += entry.length;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** What TypeTap detects for `bytes` streamed through it in chunks of `chunk`. */
async function tapped(bytes: Buffer, chunk = 16 * 1024): Promise<{ type: string; passed: Buffer }> {
  const tap = new TypeTap();
  const parts: Buffer[] = [];
  const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk));
  await pipeline(Readable.from(chunks), tap, new Writable({ write: (c, _e, done) => (parts.push(c), done()) }));
  return { type: tap.type(), passed: Buffer.concat(parts) };
}

describe('detectType: the input type that accepts and rejects match', () => {
  it('knows the sample APK (built by apktool) from its bytes', () => {
    expect(detectType(readFileSync(join(FIXTURES, 'sample.apk')))).toBe('application/vnd.android.package-archive');
  });

  it('tells OLE files apart by their stream names: an Outlook message, Word, Excel, PowerPoint, or just OLE', () => {
    const ole = (...streams: string[]) =>
      Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(504), ...streams.map((s) => Buffer.from(s, 'utf16le'))]);
    expect(detectType(ole('Root Entry', '__substg1.0_0037001F'))).toBe('application/vnd.ms-outlook');
    expect(detectType(ole('Root Entry', 'WordDocument', '1Table'))).toBe('application/msword');
    expect(detectType(ole('Root Entry', 'Workbook'))).toBe('application/vnd.ms-excel');
    expect(detectType(ole('Root Entry', 'PowerPoint Document'))).toBe('application/vnd.ms-powerpoint');
    expect(detectType(ole('Root Entry', '\x01Ole10Native'))).toBe('application/x-ole-storage');
  });

  it('knows an OOXML document with a VBA project as macro-enabled', () => {
    expect(detectType(zip(['[Content_Types].xml', 'xl/workbook.xml', 'xl/vbaProject.bin']))).toBe(
      'application/vnd.ms-excel.sheet.macroEnabled.12',
    );
    expect(detectType(zip(['[Content_Types].xml', 'word/document.xml']))).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
  });

  it('tells an APK, a Java archive and a plain zip apart', () => {
    expect(detectType(zip(['AndroidManifest.xml', 'res/a.xml']))).toBe('application/vnd.android.package-archive');
    expect(detectType(zip(['META-INF/MANIFEST.MF', 'a/B.class']))).toBe('application/java-archive');
    expect(detectType(zip(['readme.txt']))).toBe('application/zip');
  });

  it.each([
    [
      'a PE executable',
      Buffer.concat([Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([64, 0, 0, 0]), Buffer.from('PE\0\0')]),
      'application/vnd.microsoft.portable-executable',
    ],
    ['an ELF binary', Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), 'application/x-elf'],
    ['a PDF', Buffer.from('%PDF-1.7\n'), 'application/pdf'],
    ['gzip', gzipSync('hello'), 'application/gzip'],
    ['JSON', Buffer.from('  {"a": 1}'), 'application/json'],
    ['a script', Buffer.from('#!/bin/sh\necho hi\n'), 'text/x-script'],
    ['RTF (not JSON, though it starts with a brace)', Buffer.from('{\\rtf1\\ansi {\\object}}'), 'text/rtf'],
    ['an e-mail message', Buffer.from('Received: from mx\n\tby relay\nFrom: a@example.com\nSubject: hi\n\nbody\n'), 'message/rfc822'],
    ['text that starts like a header, and is no message', Buffer.from('Subject: notes\nTo: me\n\ntext\n'), 'text/plain'],
    ['text', Buffer.from('just some words\n'), 'text/plain'],
    ['binary bytes', Buffer.from([0x00, 0x01, 0x02, 0xff]), 'application/octet-stream'],
  ])('knows %s', (_what, bytes, mime) => {
    expect(detectType(bytes)).toBe(mime);
  });
});

describe('TypeTap: the type of an upload as it streams past', () => {
  it('passes every byte through unchanged', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    expect((await tapped(bytes)).passed.equals(bytes)).toBe(true);
  });

  it("finds an APK by the central directory at its end when the first entries don't tell", async () => {
    // The first entries fill more than the head it keeps; AndroidManifest.xml is named only near the end.
    const names = [...Array.from({ length: 40 }, (_, i) => `assets/blob${i}`), 'AndroidManifest.xml'];
    const apk = zip(names, 4096);
    expect(apk.length).toBeGreaterThan(TYPE_HEAD_BYTES * 2);
    expect(detectType(apk.subarray(0, TYPE_HEAD_BYTES))).toBe('application/zip');
    expect((await tapped(apk)).type).toBe('application/vnd.android.package-archive');
  });
});
