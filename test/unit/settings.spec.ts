import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@menagerie/core';
import { loadConfig, parseSettings, readEnv } from '@menagerie/config';
import { tempDir } from '../support/temp-dir';

describe('default.json', () => {
  it('fills defaults for every section', () => {
    const s = parseSettings('default.json', '{}');
    expect(s.api.port).toBe(8100);
    expect(s.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://localhost:8233' });
  });

  it('lets environment variables override fields, parsing numbers explicitly', () => {
    const env = readEnv({ MENAGERIE_API_PORT: '9000', TEMPORAL_ADDRESS: 'temporal:7233', MENAGERIE_DB_PASSWORD: 's3cret' });
    const s = parseSettings('default.json', '{"api": {"port": 8100}}', env.patch);
    expect(s.api.port).toBe(9000);
    expect(s.temporal.address).toBe('temporal:7233');
    expect(s.database.password).toBe('s3cret');
  });

  it('names the file and the field that is wrong', () => {
    try {
      parseSettings('/x/default.json', '{"api": {"port": "eighty"}, "bogus": 1}');
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain('/x/default.json');
      expect((err as ConfigError).problems.join('\n')).toMatch(/api\.port/);
      expect((err as ConfigError).problems.join('\n')).toMatch(/bogus/);
    }
  });

  it('rejects a non-numeric port given through the environment', () => {
    expect(() => parseSettings('default.json', '{}', readEnv({ MENAGERIE_API_PORT: 'abc' }).patch)).toThrow(/api\.port/);
  });

  it('loads both files and resolves the storage directory against default.json', () => {
    const dir = tempDir('menagerie-conf-');
    writeFileSync(join(dir, 'default.json'), JSON.stringify({ storage: { dir: 'store-here' }, regserver: '' }));
    writeFileSync(
      join(dir, 'engines.json'),
      '{"engines":[{"name":"x","workers":1,"image":"{{regserver}}/x:1","cmd":"/run","mountpoint":"/data","sizelimit":10,"inputfilename":"in","user":{{uid}},"timeout":5}]}',
    );
    const config = loadConfig({ confDir: dir, patch: {} });
    expect(config.storageDir).toBe(join(dir, 'store-here'));
    expect(config.engines[0].config.image).toBe('x:1');
    expect(config.engines[0].spec.user).toBe('1000');
  });

  it('refuses an engine whose sizelimit does not fit in a job directory, naming both settings', () => {
    const dir = tempDir('menagerie-conf-');
    writeFileSync(join(dir, 'default.json'), JSON.stringify({ jobDirLimitBytes: 1000 }));
    writeFileSync(
      join(dir, 'engines.json'),
      '{"engines":[{"name":"big","workers":1,"image":"x:1","cmd":"/run","mountpoint":"/data","sizelimit":1000,"inputfilename":"in","user":1000,"timeout":5}]}',
    );
    expect(() => loadConfig({ confDir: dir, patch: {} })).toThrow(
      /engines\[0\] \(big\)\.sizelimit: 1000 must be below jobDirLimitBytes \(1000\)/,
    );
    expect(loadConfig({ confDir: dir, patch: { jobDirLimitBytes: 1001 } }).engines).toHaveLength(1);
  });

  it('validates the shipped confs', () => {
    const config = loadConfig({ confDir: join(__dirname, '../../confs'), patch: {} });
    expect(config.engines.map((e) => e.config.name)).toEqual(expect.arrayContaining(['apktool', 'filemeta']));
  });
});
