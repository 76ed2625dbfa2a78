import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, readEnv } from '@menagerie/config';
import { ROOT } from '../support/env';

/* The optional Prometheus of docker-compose.yml scrapes where the apps, as Compose configures them, serve their metrics. */

type Job = { job_name: string; dns_sd_configs: Array<{ names: string[]; type: string; port: number }> };
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
const prometheus = parse(readFileSync(join(ROOT, 'docker/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: Job[] };
const target = (job: string) => {
  const found = prometheus.scrape_configs.find((j) => j.job_name === job);
  if (!found) throw new Error(`no scrape job ${job}`);
  return found.dns_sd_configs.map((d) => ({ names: d.names, port: d.port }));
};
/** The settings a service gets, with ${VAR:-default} read as the default (no .env). */
function settingsOf(service: string) {
  const env = Object.fromEntries(
    Object.entries(compose.services[service].environment as Record<string, string>).map(([k, v]) => [
      k,
      String(v).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1'),
    ]),
  );
  return loadConfig({ ...readEnv(env), confDir: join(ROOT, 'confs') }).settings;
}

describe('the optional Prometheus service', () => {
  it('runs only in the metrics profile, with its config mounted read-only', () => {
    const s = compose.services.prometheus;
    expect(s.profiles).toEqual(['metrics']);
    expect(s.volumes).toContain('./docker/prometheus:/etc/prometheus:ro');
    expect(s.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
  });

  it('scrapes every API replica and worker node on the ports they serve their metrics on', () => {
    const api = settingsOf('api');
    const worker = settingsOf('worker');
    expect(target('menagerie-api')).toEqual([{ names: ['api'], port: api.api.port }]);
    expect(target('menagerie-worker')).toEqual([{ names: ['worker'], port: worker.metrics.workerPort }]);
    expect(worker.metrics.temporalPort).toBeGreaterThan(0);
    expect(target('temporal-sdk')).toEqual([{ names: ['worker'], port: worker.metrics.temporalPort }]);
  });
});
