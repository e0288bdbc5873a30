// A quarantine list or an in-flight key of a queue named by bytes that are not UTF-8
// (`sidekiq-migrate:quarantine:\xff`) was named by drain-check in its inner lossless form: the
// reason said `sidekiq-migrate:quarantine:\x00/w==`, and the list below it printed a raw NUL
// byte and base64 to the terminal. Named as every other key is: `sidekiq-migrate:quarantine:\xff`.
import { describe, expect, it } from 'vitest';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const server = privateRedis();
const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('drain-check of quarantine lists and in-flight keys named by bytes that are not UTF-8', () => {
  it('names them with \\xNN, never NUL and base64', async () => {
    const redis = server.client();
    await redis.rpush(bytes('sidekiq-migrate:quarantine:\xff'), sidekiqPayload({ className: 'A', queue: 'x' }));
    await redis.rpush(bytes('sidekiq-migrate:r1:inflight:queue:\xff'), sidekiqPayload({ className: 'B', queue: 'x' }));

    const drain = await runCli('drain-check', '--redis', server.url());

    expect(drain.stdout).toContain('  - 1 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:\\xff 1): put them back on a queue or delete them by hand\n');
    expect(drain.stdout).toContain('\n  sidekiq-migrate:quarantine:\\xff: 1 job(s)\n');
    expect(drain.stdout).toContain('\n  sidekiq-migrate:r1:inflight:queue:\\xff: 1 job(s), run r1\n');
    expect(drain.stdout).not.toContain('\u0000');
    expect(drain.stdout).not.toContain('\\x00');
    expect(drain.code).toBe(3);
  });
});
