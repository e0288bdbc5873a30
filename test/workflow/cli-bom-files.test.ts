import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A file saved by a Windows editor starts with a byte order mark (U+FEFF). Left in the text, a
// YAML list after it was "not valid JSON or YAML (line 1, column 4): Unexpected scalar at node
// end": a worker catalog without its header comment, a routing rule list, a classes file; a saved
// drain report was "not a drain report". The mark is stripped now, in every reader of a user's
// file (core/config/read-input-file.ts): each kind of file reads as the same file without it.
const redis = privateSourceAndTarget();
const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-bom-'));

/** The file `name` written twice: as `text`, and with a byte order mark before it. */
function pair(name: string, text: string): { plain: string; bom: string } {
  const plain = join(dir, name);
  const bom = join(dir, `bom-${name}`);
  writeFileSync(plain, text);
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
  return { plain, bom };
}

const job = (className: string, i: number) => sidekiqPayload({ className, queue: 'q', args: `[${i}]`, jid: `00000000000000000000000${i}` });

async function seed(): Promise<void> {
  await redis.source().rpush('queue:q', job('A', 1), job('B', 2), job('C', 3));
  await redis.source().sadd('queues', 'q');
}

describe('input files that start with a byte order mark', { timeout: 120_000 }, () => {
  it('a worker catalog (without its header comment) and a routing rule list: the same routes as without the mark', async () => {
    // GitLab's all_queues.yml from its first entry on (a catalog cut or merged by hand).
    const entries = readFileSync(CE_CATALOG, 'utf8').split('\n---\n')[1]!;
    const catalog = pair('all_queues.yml', entries);
    const rules = pair('rules.yml', "- ['urgency=high', 'high']\n- ['*', 'default']\n");

    const plain = await runCli('routes', '--catalog', catalog.plain, '--rules', rules.plain, '--json');
    const bomCatalog = await runCli('routes', '--catalog', catalog.bom, '--rules', rules.plain, '--json');
    const bomRules = await runCli('routes', '--catalog', catalog.plain, '--rules', rules.bom, '--json');

    expect(plain.code, plain.stderr).toBe(0);
    expect(Object.keys(JSON.parse(plain.stdout)).length).toBeGreaterThan(100);
    expect(bomCatalog).toEqual(plain);
    expect(bomRules).toEqual(plain);
  });

  it('a classes file (a YAML list): the same classes carried', async () => {
    await seed();
    const classes = pair('classes.yml', '- A\n- B\n');

    const result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes-file', classes.bom);

    expect(result.code, result.stderr).toBe(0);
    expect(await jobsIn(redis.target(), '', ['queue:q'])).toEqual([jobEntry('queue:q', job('A', 1)), jobEntry('queue:q', job('B', 2))].sort());
    expect(await jobsIn(redis.source(), '', ['queue:q'])).toEqual([jobEntry('queue:q', job('C', 3))]);
  });

  it('a class mapping (JSON) and a configuration file (YAML): the same run', async () => {
    await seed();
    const mapping = pair('mapping.json', '{"A": "a_queue", "B": "b_queue"}\n');
    const config = pair('config.yaml', `redis: ${redis.urls().source}\nrouting:\n  mapping: ${mapping.bom}\n`);

    const result = await runCli('--config', config.bom, 'run');

    expect(result.code, result.stderr).toBe(0);
    expect(await jobsIn(redis.source(), '', ['queue:q', 'queue:a_queue', 'queue:b_queue'])).toEqual(
      [jobEntry('queue:a_queue', job('A', 1).replace('"queue":"q"', '"queue":"a_queue"')), jobEntry('queue:b_queue', job('B', 2).replace('"queue":"q"', '"queue":"b_queue"')), jobEntry('queue:q', job('C', 3))].sort(),
    );
  });

  it('a saved drain report given as --previous', async () => {
    const save = join(dir, 'report.json');
    const first = await runCli('drain-check', '--redis', redis.urls().source, '--save', save);
    expect(first.code, first.stderr).not.toBe(2);
    const report = pair('previous.json', readFileSync(save, 'utf8'));

    const plain = await runCli('drain-check', '--redis', redis.urls().source, '--previous', report.plain);
    const bom = await runCli('drain-check', '--redis', redis.urls().source, '--previous', report.bom);

    expect(plain.stderr).not.toContain('not a drain report');
    expect(bom.stderr).toBe(plain.stderr);
    expect(bom.code).toBe(plain.code);
  });
});
