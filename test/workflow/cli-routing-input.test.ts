import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, keyValueSnapshot } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

// Routing input at the command line: GitLab's own meaning of what a user may write in rules,
// catalogs and renames, checked by the jobs each Redis holds before and after.

const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'cli-routing-input-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const ADMIN = 'AdminEmailWorker';
const ARCHIVE = 'RepositoryArchiveCacheWorker';

describe('routing rules that name stores', () => {
  it('--store main also takes the workers whose first matching rule names the store "main", GitLab\'s name for its default Sidekiq Redis', async () => {
    // GitLab (Gitlab::SidekiqSharding::Router) sends a rule's store "main" to Gitlab::Redis::Queues,
    // exactly as a rule without a store: AdminEmailWorker's jobs now belong on the main Redis.
    const rules = file('explicit-main.yml', `- ["worker_name=${ADMIN}", "default", "main"]\n- ["worker_name=${ARCHIVE}", "default", "queues_shard_catchall_b"]\n- ["*", "default"]\n`);
    const shard = redis.target();
    const admin = [sidekiqPayload({ className: ADMIN, args: '[1]' }), sidekiqPayload({ className: ADMIN, args: '[2]' })];
    const archive = sidekiqPayload({ className: ARCHIVE, args: '[3]' });
    await shard.rpush('queue:default', admin[0]!, archive, admin[1]!);
    await shard.sadd('queues', 'default');

    const { code, stdout } = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--catalog', CE_CATALOG, '--rules', rules, '--store', 'main');

    expect(code).toBe(0);
    expect(stdout).toContain('Complete');
    await expectExactJobs(redis.source(), '', admin.map((p) => jobEntry('queue:default', p)), 'main has the class whose rule names main');
    await expectExactJobs(shard, '', [jobEntry('queue:default', archive)], 'the shard keeps the class still routed there');

    // Every rule naming main explicitly is as good as none naming a store: not "nothing selected".
    const allMain = file('all-main.yml', '- ["*", "default", "main"]\n');
    const before = await keyValueSnapshot(shard);
    const dry = await runCli('move', '--from', redis.urls().target, '--to', redis.urls().source, '--catalog', CE_CATALOG, '--rules', allMain, '--store', 'main', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).selection).toMatchObject({ jobs: 1, byClass: { [ARCHIVE]: { 'queue:default': 1 } } });
    expect(await keyValueSnapshot(shard)).toEqual(before);
  });
});
