// Options accepted and silently ignored in some combinations (audit-input): each did nothing, and
// the operator believed it taken. Each is now refused in the one validation message, before
// anything connects (exit 2, nothing touched, an unreachable Redis never tried), naming what and
// why; the same options where they do act are still accepted.
import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { repoPath } from '../support/paths.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

const redis = privateSourceAndTarget();
const file = tempFileWriter('cli-ignored-options-');
const CATALOG = repoPath('test/fixtures/gitlab/all_queues.yml');
const RULES = repoPath('test/fixtures/routing/docs-detailed-example.yml');

const APPEND = "--append: only applies to queue lists (it queues the jobs moved off a queue behind the destination's backlog), and --no-queues leaves them alone: set entries stay in their set. Leave --append or --no-queues out";
const QUARANTINE = '--unmapped quarantine: only queued jobs are quarantined (unmapped entries of the sets stay in their set, counted), and --no-queues leaves the queue lists alone. Leave --unmapped or --no-queues out';

async function seed(): Promise<void> {
  const old = (i: number) => sidekiqPayload({ className: 'Unknown', queue: 'old', args: `[${i}]`, jid: `00000000000000000000000${i}` });
  await redis.source().rpush('queue:old', old(1), old(2));
  await redis.source().sadd('queues', 'old');
  await redis.source().zadd('schedule', '1795459303.25', old(3));
}

/** Exit 2, nothing on stdout, and the problems of one message, in order. */
function refused(result: { code: number; stdout: string; stderr: string }, problems: readonly string[]): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(problems.length === 1 ? `${problems[0]}\n` : `Invalid options and files:\n  - ${problems.join('\n  - ')}\n`);
}

describe('options that did nothing in some combinations are refused', { timeout: 120_000 }, () => {
  it('run --no-queues with --append and --unmapped quarantine: both named with a bad option, nothing touched, nothing tried; each acts without --no-queues', async () => {
    await seed();
    const before = await keyValueSnapshot(redis.source());
    const endpoint = await refusingEndpoint();
    try {
      const here = await runCli('run', '--redis', redis.urls().source, '--mapping', file('m.json', '{"Known": "new"}'), '--no-queues', '--append', '--unmapped', 'quarantine', '--page-size', '0');
      const unreachable = await runCli('run', '--redis', endpoint.url, '--rename', 'old=new', '--no-queues', '--append');

      refused(here, ['--page-size: the page size must be positive', APPEND, QUARANTINE]);
      refused(unreachable, [APPEND]);
      expect(endpoint.attempts()).toBe(0);
      expect(await keyValueSnapshot(redis.source())).toEqual(before);

      // With the queue lists, quarantine takes the unmapped queued jobs off their queue: an effect.
      const quarantined = await runCli('run', '--redis', redis.urls().source, '--mapping', file('m2.json', '{"Known": "new"}'), '--append', '--unmapped', 'quarantine', '--json');
      expect(quarantined.code, quarantined.stderr).toBe(0);
      expect(await redis.source().llen('sidekiq-migrate:quarantine:old')).toBe(2);
    } finally {
      await endpoint.close();
    }
  });

  it('move --redis-yml (and --environment) with URLs for both ends, and --password beside both ends\' own: named together, nothing tried; with a store name, accepted', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const redisYml = file('redis.yml', `production:\n  queues_shard_b:\n    url: "${endpoint.url}/2"\n`);
      const result = await runCli('move', '--from', endpoint.url, '--to', `${endpoint.url}/1`, '--rename', 'a=b', '--redis-yml', redisYml, '--environment', 'production', '--password', 'p', '--from-password', 'f', '--to-password', 't');

      refused(result, [
        '--environment: only applies with --rules or --redis-yml (the gitlab.yml or redis.yml section to read; a redis.yml is read only for an endpoint given as a store name of it): add them, or leave --environment out',
        '--redis-yml: only applies when --from or --to is a store name of it (main, queues_shard_…); each given is a URL, so nothing is looked up in it. Leave --redis-yml out',
        '--password: each Redis has its own here (--from-password, --to-password, or their variables), so it is used for neither: leave --password out',
      ]);
      expect(endpoint.attempts()).toBe(0);

      // A store name: the file is read for it (the move then connects, and finds the endpoint refusing).
      const named = await runCli('move', '--from', endpoint.url, '--to', 'queues_shard_b', '--rename', 'a=b', '--redis-yml', redisYml, '--environment', 'production', '--password', 'p', '--from-password', 'f');
      expect(named.code).toBe(1);
      expect(named.stderr).toContain('Cannot connect to source');
      expect(endpoint.attempts()).toBeGreaterThan(0);
    } finally {
      await endpoint.close();
    }
  });

  it('drain-check --catalog --rules --strict without a selection, and --redis-yml for a URL: refused before connecting; with --store, the rules are read', async () => {
    const endpoint = await refusingEndpoint();
    try {
      const redisYml = file('redis-dc.yml', `production:\n  queues_shard_b:\n    url: "${endpoint.url}/2"\n`);
      const result = await runCli('drain-check', '--redis', endpoint.url, '--catalog', CATALOG, '--rules', RULES, '--strict', '--redis-yml', redisYml);

      refused(result, [
        '--catalog, --rules, --strict: only apply with a selection of classes (--store, --classes or --classes-file): without one the check reads no routing rules. Add a selection, or leave them out',
        '--redis-yml: only applies when --redis or --to is a store name of it (main, queues_shard_…); each given is a URL, so nothing is looked up in it. Leave --redis-yml out',
      ]);
      expect(endpoint.attempts()).toBe(0);

      const selected = await runCli('drain-check', '--redis', 'queues_shard_b', '--redis-yml', redisYml, '--catalog', CATALOG, '--rules', RULES, '--store', 'main');
      expect(selected.code).toBe(1);
      expect(selected.stderr).toContain('Cannot connect');
      expect(endpoint.attempts()).toBeGreaterThan(0);
    } finally {
      await endpoint.close();
    }
  });

  it('--config for routes, match and demo, which read no configuration file', async () => {
    const config = file('sidekiq-migrate.config.yml', 'redis: redis://127.0.0.1:1\n');
    const routes = await runCli('--config', config, 'routes', '--catalog', CATALOG, '--rules', RULES);
    const match = await runCli('--config', config, 'match', '--catalog', CATALOG, '--query', '*');
    const demo = await runCli('--config', config, 'demo');

    refused(routes, ['--config: routes reads no configuration file (give --catalog and --rules on the command line): leave --config out. Nothing was touched.']);
    refused(match, ['--config: match reads no configuration file (give --catalog and --query on the command line): leave --config out. Nothing was touched.']);
    refused(demo, ['--config: demo reads no configuration file (it seeds a throwaway redis-server of its own): leave --config out. Nothing was touched.']);
    expect((await runCli('routes', '--catalog', CATALOG, '--rules', RULES)).code).toBe(0);
  });
});
