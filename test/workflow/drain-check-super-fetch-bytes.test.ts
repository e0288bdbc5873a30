// Sidekiq Pro's super_fetch keeps the jobs a process took in `queue:sq|IDENTITY|NAME`. Queue
// discovery skips such a key by the `|` in its name, but it looked for the `|` in the name's
// lossless text, which for a queue named by bytes that are not UTF-8 (`caf\xe9`) is NUL and base64:
// no `|`. drain-check then counted the private list twice, once as a queue nobody listens to
// (named `sq|gone-host:1:abc|caf\xe9`) and once as a gone worker's list: 2 jobs left over 1.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();

describe('drain-check of a super_fetch private list named by bytes that are not UTF-8', () => {
  it('counts its job once, as taken by a gone worker, never as a queue', async () => {
    const redis = server.client();
    await redis.rpush(Buffer.from('queue:sq|gone-host:1:abc|caf\xe9', 'latin1'), sidekiqPayload({ className: 'A', queue: 'caf' }));

    const drain = await runCli('drain-check', '--redis', server.url());

    expect(drain.stdout).toMatch(/^redis[^\n]*: STUCK — 1 job\(s\) left\n/);
    expect(drain.stdout).toContain('  - 1 job(s) sit in the private lists of workers that are gone (queue:sq|gone-host:1:abc|caf\\xe9 1)');
    expect(drain.stdout).not.toContain('queues nobody listens to');
    expect(drain.code).toBe(3);
  });
});
