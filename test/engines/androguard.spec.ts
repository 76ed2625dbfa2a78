import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusesType } from '@menagerie/engines';
import { detectType } from '@menagerie/storage';
import { catalogueEngine, field, runCatalogueEngine, samplePath, section, tagValues } from '../support/engine-container';
import { ROOT } from '../support/env';

// The engines project's testTimeout (jest.config.js) does not reach the tests: a container run can take seconds.
jest.setTimeout(120_000);

const sample = (name: string) => samplePath('android', name);
const text = (name: string) => readFileSync(sample(name), 'utf8');
/** The manifest sample.apk was built from (test/fixtures/samples/android/apk-src), as written. */
const MANIFEST = readFileSync(join(ROOT, 'test/fixtures/samples/android/apk-src/AndroidManifest.xml'), 'utf8');

/** What `aapt dump badging` read from the signed APK in the builder. */
function badging() {
  const lines = text('sample.badging.txt');
  const one = (re: RegExp) => re.exec(lines)?.[1];
  return {
    package: one(/^package: name='([^']+)'/m),
    versionName: one(/versionName='([^']+)'/),
    minSdk: one(/^sdkVersion:'(\d+)'/m),
    targetSdk: one(/^targetSdkVersion:'(\d+)'/m),
    mainActivity: one(/^launchable-activity: name='([^']+)'/m),
    permissions: [...lines.matchAll(/^uses-permission: name='([^']+)'/gm)].map((m) => m[1]).sort(),
  };
}

/** What `keytool -printcert -jarfile` said of the signer in the builder: names as written, fingerprints as lower-case hex. */
function keytool() {
  const lines = text('sample.cert.txt');
  const one = (re: RegExp) => re.exec(lines)?.[1];
  const hex = (s: string | undefined) => s?.replace(/:/g, '').toLowerCase();
  return {
    owner: one(/^Owner: (.+)$/m),
    issuer: one(/^Issuer: (.+)$/m),
    serial: one(/^Serial number: ([0-9a-f]+)$/m),
    sha256: hex(one(/^\s+SHA256: ([0-9A-F:]+)$/m)),
    sha1: hex(one(/^\s+SHA1: ([0-9A-F:]+)$/m)),
  };
}

/** The components of the source manifest: kind, name, exported. */
function manifestComponents(): string[][] {
  return [...MANIFEST.matchAll(/<(activity|service|receiver|provider)\b([^>]*)>/g)].map(([, kind, attrs]) => [
    kind,
    /android:name="([^"]+)"/.exec(attrs)![1],
    /android:exported="([^"]+)"/.exec(attrs)![1],
  ]);
}

const table = (report: Parameters<typeof section>[0], title: string) => {
  const t = section(report, title, 'table');
  return t.rows.map((row) => Object.fromEntries(t.columns.map((c, i) => [c, row[i]])));
};

describe('androguard engine, on an APK built and signed here (apktool, apksigner, keytool)', () => {
  it('is routed the APK type detectType gives, and not a plain ZIP', () => {
    const engine = catalogueEngine('androguard');
    expect(detectType(readFileSync(sample('sample.apk')))).toBe('application/vnd.android.package-archive');
    expect(refusesType(engine, detectType(readFileSync(sample('sample.apk'))))).toBeNull();
    expect(refusesType(engine, 'application/zip')).not.toBeNull();
  });

  it('reports the package, version, SDK levels, main activity and permissions that aapt reads from it', async () => {
    const expected = badging();
    const run = await runCatalogueEngine('androguard', sample('sample.apk'));
    expect(run.exitCode).toBe(0);
    expect(expected.package).toBe('org.menagerie.android');
    expect(tagValues(run.report, 'android.package')).toEqual([expected.package]);
    expect(field(run.report, 'Package', 'Package')).toBe(expected.package);
    expect(field(run.report, 'Package', 'Version name')).toBe(expected.versionName);
    expect(field(run.report, 'Package', 'Min SDK')).toBe(expected.minSdk);
    expect(field(run.report, 'Package', 'Target SDK')).toBe(expected.targetSdk);
    expect(field(run.report, 'Package', 'Main activity')).toBe(expected.mainActivity);
    expect(expected.permissions).toEqual(expect.arrayContaining(['android.permission.INTERNET', 'android.permission.READ_CONTACTS']));
    expect(tagValues(run.report, 'android.permission').sort()).toEqual(expected.permissions);
    const permissions = table(run.report, 'Permissions');
    expect(permissions.find((p) => p.permission === 'android.permission.READ_CONTACTS')).toMatchObject({ 'protection level': 'dangerous' });
    expect(run.report?.summary).toMatch(
      /^org\.menagerie\.android 1\.2: 3 permissions \(1 dangerous\), 1 activity, 1 service, 1 receiver, 1 provider/,
    );
  });

  it('lists every component of the manifest it was built from, with whether each is exported and its intent filters', async () => {
    const run = await runCatalogueEngine('androguard', sample('sample.apk'));
    const components = table(run.report, 'Components');
    expect(components.map((c) => [c.kind, c.name, c.exported])).toEqual(manifestComponents());
    expect(components.find((c) => c.kind === 'receiver')!['intent filters']).toBe('action: android.intent.action.BOOT_COMPLETED');
    expect(components.find((c) => c.kind === 'provider')!.authorities).toBe('org.menagerie.android.notes');
  });

  it('reports the certificate keytool made and apksigner signed with: subject, issuer, serial and fingerprints, its SHA-256 as a tag', async () => {
    const signer = keytool();
    expect(signer.sha256).toMatch(/^[0-9a-f]{64}$/);
    const run = await runCatalogueEngine('androguard', sample('sample.apk'));
    expect(tagValues(run.report, 'android.certificate')).toEqual([signer.sha256]);
    expect(table(run.report, 'Certificates')).toEqual([
      expect.objectContaining({
        schemes: 'v1, v2, v3',
        subject: signer.owner,
        issuer: signer.issuer,
        serial: signer.serial,
        sha256: signer.sha256,
        sha1: signer.sha1,
      }),
    ]);
    expect(field(run.report, 'Package', 'Signed')).toBe('v1, v2, v3');
  });

  it('extracts classes.dex and classes2.dex as "dex" children, byte for byte as unzip takes them out', async () => {
    const run = await runCatalogueEngine('androguard', sample('sample.apk'));
    expect(run.report?.children).toEqual([
      { path: 'children/classes.dex', relation: 'dex', name: 'classes.dex' },
      { path: 'children/classes2.dex', relation: 'dex', name: 'classes2.dex' },
    ]);
    expect(readFileSync(join(run.dir, 'children/classes.dex')).equals(readFileSync(sample('sample.classes.dex')))).toBe(true);
    expect(readFileSync(join(run.dir, 'children/classes2.dex')).equals(readFileSync(sample('sample.classes2.dex')))).toBe(true);
    expect(table(run.report, 'DEX files').map((d) => [d.name, d.classes])).toEqual([
      ['classes.dex', '3'],
      ['classes2.dex', '1'],
    ]);
    expect(JSON.parse(run.result!.toString('utf8')).android_manifest).toContain('package="org.menagerie.android"');
  });

  it('leaves out a DEX file that unpacks to more than its bound (300 MiB of zeros), and says so', async () => {
    const run = await runCatalogueEngine('androguard', sample('dex-bomb.apk'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.children.map((c) => c.name)).toEqual(['classes.dex', 'classes2.dex']);
    expect(table(run.report, 'DEX files').find((d) => d.name === 'classes3.dex')).toMatchObject({
      bytes: String(300 * 1024 * 1024),
      classes: 'not extracted',
    });
    expect(section(run.report, 'Notes', 'text').text).toContain('classes3.dex is 314572800 bytes unpacked, more than the engine extracts');
  });

  it('says the APK before signing is not signed, with no certificate', async () => {
    const run = await runCatalogueEngine('androguard', sample('unsigned.apk'));
    expect(run.exitCode).toBe(0);
    expect(field(run.report, 'Package', 'Signed')).toBe('no');
    expect(tagValues(run.report, 'android.certificate')).toEqual([]);
    expect(table(run.report, 'Certificates')).toEqual([]);
    expect(run.report?.summary).toMatch(/, not signed$/);
  });

  it('says a truncated APK is not one it can read, in a report (exit 0), with no child', async () => {
    const run = await runCatalogueEngine('androguard', sample('truncated.apk'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toMatch(/^not an APK androguard can read: /);
    expect(field(run.report, 'APK', 'Valid APK')).toBe('no');
    expect(run.report?.children).toEqual([]);
    expect(tagValues(run.report, 'android.package')).toEqual([]);
  });

  it('says a ZIP without AndroidManifest.xml is not a valid APK, and still hands over its DEX file', async () => {
    const run = await runCatalogueEngine('androguard', sample('no-manifest.apk'));
    expect(run.exitCode).toBe(0);
    expect(run.report?.summary).toBe('not a valid APK: no AndroidManifest.xml that androguard can decode');
    expect(run.report?.children).toEqual([{ path: 'children/classes.dex', relation: 'dex', name: 'classes.dex' }]);
    expect(readFileSync(join(run.dir, 'children/classes.dex')).equals(readFileSync(sample('sample.classes.dex')))).toBe(true);
  });
});
