// An ActiveJob sidekiq-cron definition saved with `queue_name_prefix` (the app's Rails
// `active_job.queue_name_prefix`, copied into the schedule) pushes to "<prefix><delimiter><queue>"
// (sidekiq-cron job.rb queue_name_with_prefix: delimiter `queue_name_delimiter`, else "_"), while
// its message names the bare queue. It was reported, judged and rewritten by the bare queue.
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';
import { seedCronDefinition } from '../support/seed-cron-definition.js';

const redis = privateSourceAndTarget();
const key = 'cron_job:default:mail_digest';
const message = '{"queue":"mailers","class":"DigestJob","args":[],"retry":true}';
const fields = { name: 'mail_digest', namespace: 'default', klass: 'DigestJob', cron: '0 6 * * *', message, status: 'enabled', active_job: '1', queue_name_prefix: 'myapp', queue_name_delimiter: '' };

async function seed(extra: Record<string, string> = {}): Promise<void> {
  await seedCronDefinition(redis.source(), key, { ...fields, ...extra }, 'myapp_mailers');
}

describe('sidekiq-cron ActiveJob definitions with queue_name_prefix', () => {
  it('drain-check names the prefixed queue it pushes to, and it stops a drain of that queue', async () => {
    await seed();
    const plain = await runCli('drain-check', '--redis', redis.urls().source);
    expect(plain.stdout).toContain('  mail_digest → myapp_mailers');
    const scoped = await runCli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'myapp_mailers');
    expect(scoped.stdout).toContain('1 sidekiq-cron definition(s) still push to retired queues (mail_digest → myapp_mailers)');
    expect(scoped.code).toBe(3);
  });

  it('run judges it by the prefixed queue, and --rewrite-cron writes the bare queue that makes it push to its destination', async () => {
    await seed();
    const warned = await runCli('run', '--redis', redis.urls().source, '--rename', 'myapp_mailers=myapp_notify', '--dry-run');
    expect(warned.stderr).toContain('warning: 1 sidekiq-cron definition(s) still push to their old queue (mail_digest: myapp_mailers → myapp_notify)');
    const { code, stderr } = await runCli('run', '--redis', redis.urls().source, '--rename', 'myapp_mailers=myapp_notify', '--rewrite-cron');
    expect(stderr).toContain('sidekiq-cron: 1 definition(s) now push to their new queue (mail_digest: myapp_mailers → myapp_notify)');
    expect(code).toBe(0);
    expect(await redis.source().hgetall(key)).toEqual({ ...fields, message: message.replace('"queue":"mailers"', '"queue":"notify"') });
  });

  it('a delimiter field is used, and a destination the prefix cannot reach is named, not rewritten', async () => {
    await seed({ queue_name_delimiter: '.' });
    await redis.source().lpush('queue:myapp.mailers', sidekiqPayload({ className: 'OtherWorker', queue: 'myapp.mailers' }));
    const { code, stdout, stderr } = await runCli('run', '--redis', redis.urls().source, '--rename', 'myapp.mailers=mailers', '--rewrite-cron');
    expect(stderr).toContain(
      "sidekiq-cron: 1 definition(s) could not be judged by the routing, left as they are (mail_digest: its queue_name_prefix makes it push to myapp.<its queue>, so it cannot push to mailers, where routing sends DigestJob): check where they push by hand.",
    );
    expect(stderr).not.toContain('now push to their new queue');
    // Asked to rewrite every definition and left one it could not judge: never 'Complete' (62854a84).
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but 1 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten (see above).');
    expect(code).toBe(1);
    expect(await redis.source().hget(key, 'message')).toBe(message);
  });
});
