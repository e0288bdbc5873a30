import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';

// Payloads no well-behaved Sidekiq client writes, met by `run` end to end: what the summary says
// of them, and where their exact bytes end up.
const servers = privateSourceAndTarget();
const redis = { client: () => servers.source(), url: () => servers.urls().source };
const dir = mkdtempSync(join(tmpdir(), 'cli-odd-payloads-'));
const mappingFile = join(dir, 'mapping.json');
writeFileSync(mappingFile, JSON.stringify({ A: 'new' }));

const job = (jid: string, queue = 'old') => `{"class":"A","queue":"${queue}","jid":"${jid}","args":[1.0]}`;
/** The last lines of the summary, from "Needs a look:" on. */
const needsALook = (stdout: string) => stdout.slice(stdout.indexOf('Needs a look:')).trimEnd().split('\n');

describe('run over payloads it cannot read', { timeout: 120_000 }, () => {
  it('with --unmapped quarantine, says how many unparsable jobs it quarantined and how many it left in place', async () => {
    const client = redis.client();
    const brokenQueued = [Buffer.from('{"class":"A","queue":"old"'), Buffer.from('[1,2]')];
    const brokenScheduled = Buffer.from('{"class":"A","queue":"x","queue":"old","jid":"dup"}');
    await client.lpush('queue:old', job('a1'), ...brokenQueued);
    await client.zadd('schedule', '2000000000', brokenScheduled);
    await client.sadd('queues', 'old');

    const { code, stdout } = await runCli('run', '--redis', redis.url(), '--mapping', mappingFile, '--unmapped', 'quarantine');

    expect(code).toBe(0);
    expect(await jobsIn(client)).toEqual([jobEntry('queue:new', job('a1', 'new')), jobEntry('schedule', brokenScheduled, '2000000000')].sort());
    expect(await client.lrangeBuffer('sidekiq-migrate:quarantine:old', 0, -1)).toEqual([...brokenQueued].reverse());
    // Two went to the quarantine list, one stayed in `schedule` (set entries are never quarantined).
    expect(needsALook(stdout)).toEqual([
      'Needs a look:',
      '1 unparsable job(s) left in place (samples below).',
      '2 unparsable job(s) quarantined (samples below).',
      'Quarantined to sidekiq-migrate:quarantine:<queue>, by queue: queue:old 2',
      'Samples: ? (jid ?, duplicate-key); ? (jid ?, not-an-object); ? (jid ?, invalid-json)',
      'Jobs left in place (unmapped, unparsable, conflicts) by set and queue: schedule 1',
      "1 unparsable schedule, retry or dead entries this run left in place name no queue it can read: where Sidekiq's poller would push them when due (a dead one: when retried), and whether anybody fetches there, is not known. Mend or delete them by hand (the samples of unparsable jobs show some; drain-check counts them among the entries for queues nobody fetches).",
      '',
      'Done, but jobs were left behind: 2 quarantined · 1 left in place, 1 of them in sets naming no queue it can read (see "Needs a look" above).',
    ]);
  });
});

describe('run over class names, jids and queue names holding control characters', { timeout: 120_000 }, () => {
  it('shows them escaped: a payload cannot print a line of its own (a false verdict) or drive the terminal', async () => {
    const client = redis.client();
    const evilClass = 'Evil\nComplete: everything that could be moved was moved.\n\u001b[2J';
    const evil = `{"class":${JSON.stringify(evilClass)},"queue":"old","jid":"a\\rb\\u009bc"}`;
    const evilQueue = 'q\u001b[31m\n';
    const onEvilQueue = `{"class":"Gone","queue":${JSON.stringify(evilQueue)},"jid":"g1"}`;
    await client.lpush('queue:old', job('a1'), evil);
    await client.lpush(`queue:${evilQueue}`, onEvilQueue);
    await client.sadd('queues', 'old', evilQueue);

    const { code, stdout } = await runCli('run', '--redis', redis.url(), '--mapping', mappingFile);

    expect(code).toBe(0);
    expect(await jobsIn(client)).toEqual([jobEntry('queue:new', job('a1', 'new')), jobEntry('queue:old', evil), jobEntry(`queue:${evilQueue}`, onEvilQueue)].sort());
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(stdout.split('\n').filter((line) => line.startsWith('Complete'))).toEqual([]);
    const shownClass = 'Evil\\x0aComplete: everything that could be moved was moved.\\x0a\\x1b[2J';
    expect(needsALook(stdout)).toEqual([
      'Needs a look:',
      `Left in place, no destination for their class: ${shownClass} 1 · Gone 1`,
      `Samples: ${shownClass} (jid a\\x0db\\x9bc, no destination for its class); Gone (jid g1, no destination for its class)`,
      'Jobs left in place (unmapped, unparsable, conflicts) by set and queue: queue:old 1 · queue:q\\x1b[31m\\x0a 1',
      'Nobody fetches from 2 queue(s) this run left jobs in place on (old 1 · q\\x1b[31m\\x0a 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those jobs never run. Route their class (catalog, rules or mapping) and run again, run again with --unmapped quarantine, or give those queues a listener (drain-check: orphans).',
      '',
      'Done, but jobs were left behind: 2 left in place, 2 of them where nobody fetches (see "Needs a look" above).',
    ]);
  });
});

describe('run over jobs whose class or jid is hundreds of kilobytes long', { timeout: 120_000 }, () => {
  it('finishes, leaves them byte for byte, and names them shortened (the counters travel in states of 256 KiB)', async () => {
    const client = redis.client();
    const longClass = `Huge${'X'.repeat(300_000)}Worker`;
    const longJid = `j${'0'.repeat(300_000)}`;
    const scheduled = `{"class":"${longClass}","queue":"old","jid":"s1"}`;
    const queued = `{"class":"Gone","queue":"old","jid":"${longJid}"}`;
    await client.zadd('schedule', '2000000000', scheduled);
    await client.lpush('queue:old', job('a1'), queued);
    await client.sadd('queues', 'old');

    const { code, stdout } = await runCli('run', '--redis', redis.url(), '--mapping', mappingFile);

    expect(code, stdout).toBe(0);
    expect(await jobsIn(client)).toEqual([jobEntry('queue:new', job('a1', 'new')), jobEntry('queue:old', queued), jobEntry('schedule', scheduled, '2000000000')].sort());
    const shortClass = `Huge${'X'.repeat(155)}…`;
    expect(needsALook(stdout)).toEqual([
      'Needs a look:',
      `Left in place, no destination for their class: Gone 1 · ${shortClass} 1`,
      `Samples: ${shortClass} (jid s1, no destination for its class); Gone (jid j${'0'.repeat(158)}…, no destination for its class)`,
      'Jobs left in place (unmapped, unparsable, conflicts) by set and queue: schedule 1 · queue:old 1',
      'Nobody fetches from 1 queue(s) this run left jobs in place on (old 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those jobs never run. Route their class (catalog, rules or mapping) and run again, run again with --unmapped quarantine, or give those queues a listener (drain-check: orphans).',
      // The scheduled entry left in place names `old` too: the poller pushes it there when due.
      'Nobody fetches from 1 queue(s) that 1 schedule, retry or dead entries this run left in place name (old 1): no live Sidekiq process runs on this Redis and the routing retires those queues, so once Sidekiq runs on it those entries land there when due (a dead one: when retried) and never run. Route their class (catalog, rules or mapping) and run again, or give those queues a listener (drain-check: "for queues nobody fetches" per set).',
      '',
      'Done, but jobs were left behind: 2 left in place, 1 of them where nobody fetches and 1 in sets for queues nobody fetches (see "Needs a look" above).',
    ]);
  });
});

describe('routing that names a queue no payload can hold', { timeout: 120_000 }, () => {
  it('a destination with a lone surrogate (a \\ud800 escape in a mapping, rules or configuration file) is refused before anything is touched', async () => {
    const client = redis.client();
    await client.lpush('queue:old', job('a1'));
    await client.zadd('schedule', '2000000000', job('s1'));
    await client.sadd('queues', 'old');
    const before = await keyValueSnapshot(client);
    const mapping = join(dir, 'lone-surrogate-mapping.json');
    writeFileSync(mapping, '{"A":"new\\ud800","B":"fine"}');
    const rules = join(dir, 'lone-surrogate-rules.json');
    writeFileSync(rules, '[["*","q\\udc00"]]');
    const config = join(dir, 'lone-surrogate-config.json');
    writeFileSync(config, `{"redis":${JSON.stringify(redis.url())},"routing":{"rename":["old=n\\ud800ew"]}}`);

    const byMapping = await runCli('run', '--redis', redis.url(), '--mapping', mapping);
    const byRules = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', rules);
    const byConfig = await runCli('run', '--config', config);

    expect(byMapping).toEqual({ code: 2, stdout: '', stderr: `${mapping}: invalid class mapping:\n  - A: the queue "new\\ud800" is not valid Unicode (a lone surrogate): no payload can name it\n` });
    expect(byRules.code).toBe(2);
    expect(byRules.stderr).toContain('is invalid: its queue "q\\udc00" is not valid Unicode (a lone surrogate): no payload can name it');
    expect(byConfig.code).toBe(2);
    expect(byConfig.stderr).toContain('Invalid --rename:\n  - "old=n\ud800ew": the queue "n\\ud800ew" is not valid Unicode (a lone surrogate): no payload can name it');
    expect(await keyValueSnapshot(client)).toEqual(before);
  });
});

describe('rollback of a run that moved entries whose queue value was a lone surrogate', { timeout: 120_000 }, () => {
  it('leaves those entries where they are, counted as unrestorable, and rolls the rest back', async () => {
    const client = redis.client();
    const mapping = join(dir, 'two-classes.json');
    writeFileSync(mapping, JSON.stringify({ A: 'new', B: 'newb' }));
    // `"queue":"\ud800"`: valid JSON, a queue name no payload can be rewritten to.
    const lone = '{"class":"A","queue":"\\ud800","jid":"l1"}';
    const fine = '{"class":"B","queue":"oldb","jid":"b1"}';
    await client.zadd('schedule', '2000000000', lone, '2000000001', fine);

    const run = await runCli('run', '--redis', redis.url(), '--mapping', mapping, '--run-id', 'lone-1');
    expect(run.code, run.stdout).toBe(0);
    const movedLone = '{"class":"A","queue":"new","jid":"l1"}';
    expect(await jobsIn(client)).toEqual([jobEntry('schedule', movedLone, '2000000000'), jobEntry('schedule', '{"class":"B","queue":"newb","jid":"b1"}', '2000000001')].sort());

    const { code, stdout } = await runCli('rollback', 'lone-1', '--redis', redis.url());

    expect(code, stdout).toBe(0);
    expect(await jobsIn(client)).toEqual([jobEntry('schedule', movedLone, '2000000000'), jobEntry('schedule', fine, '2000000001')].sort());
    expect(stdout).toContain('Samples: A (jid l1, run lone-1 moved such jobs here from queue \\ud800, whose name is not valid Unicode: a payload cannot name it)');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but jobs were left behind: 1 left in place (see "Needs a look" above).');
  });
});

describe('move --rename over queues it does not rename', { timeout: 120_000 }, () => {
  it('carries their jobs as they are, without calling them jobs with no destination for their class', async () => {
    const client = redis.client();
    const other = '{"class":"B","queue":"other","jid":"o1"}';
    await client.lpush('queue:old', job('a1'));
    await client.lpush('queue:other', other);
    await client.zadd('schedule', '2000000000', '{"class":"B","queue":"other","jid":"o2"}');
    await client.sadd('queues', 'old', 'other');

    const dry = await runCli('move', '--from', redis.url(), '--to', servers.urls().target, '--rename', 'old=new', '--dry-run');
    const { code, stdout } = await runCli('move', '--from', redis.url(), '--to', servers.urls().target, '--rename', 'old=new', '--json');

    expect(code).toBe(0);
    expect(await jobsIn(servers.target())).toEqual(
      [jobEntry('queue:new', job('a1', 'new')), jobEntry('queue:other', other), jobEntry('schedule', '{"class":"B","queue":"other","jid":"o2"}', '2000000000')].sort(),
    );
    const summary = JSON.parse(stdout) as { totals: Record<string, unknown>; queues: Record<string, Record<string, unknown>> };
    expect(summary.totals).toMatchObject({ written: 3, rerouted: 1, unmapped: 0 });
    expect(summary.queues['other']).toMatchObject({ written: 1, rerouted: 0, unmapped: 0 });
    expect(dry.code).toBe(0);
    expect(dry.stdout).not.toContain('no destination for their class');
    expect(dry.stdout.trimEnd().split('\n').at(-1)).toBe('Dry run, nothing written: a run would move 3 job(s) and leave none behind.');
  });
});

describe('move over unparsable set entries', { timeout: 120_000 }, () => {
  it('says they were carried to the set they were in, byte for byte', async () => {
    const client = redis.client();
    const broken = Buffer.from('{"class":"A","queue":"old"} trailing');
    await client.zadd('retry', '2000000000', broken);
    await client.lpush('queue:old', job('a1'));
    await client.sadd('queues', 'old');

    const { code, stdout } = await runCli('move', '--from', redis.url(), '--to', servers.urls().target, '--mapping', mappingFile);

    expect(code).toBe(0);
    expect(await jobsIn(servers.target())).toEqual([jobEntry('queue:new', job('a1', 'new')), jobEntry('retry', broken, '2000000000')].sort());
    expect(needsALook(stdout)).toContain('Carried unchanged, to the queue or set they were in: 0 with no destination for their class, 1 unparsable job(s).');
  });
});
