// An ActiveJob sidekiq-cron definition saved without a `message` (its class in `klass`, its queue in
// a `queue` field) and with `queue_name_prefix`: sidekiq-cron builds the message from klass and
// queue, then pushes to "<prefix><delimiter><queue>" (job.rb queue_name_with_prefix applies to the
// queue it built too). Two changes met here: a message-less definition judged and its `queue` field
// rewritten (audit-cronfields), and the prefix judged and stripped from what is written
// (audit-cronrerun). The rewrite must write the destination without the prefix, or the definition
// would push to "<prefix><delimiter><prefix><delimiter><queue>".
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { seedCronDefinition } from '../support/seed-cron-definition.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';

const redis = privateSourceAndTarget();
const key = 'cron_job:default:mail_digest';
const fields = {
  name: 'mail_digest',
  namespace: 'default',
  klass: 'DigestJob',
  cron: '0 6 * * *',
  args: '[]',
  queue: 'mailers',
  status: 'enabled',
  active_job: 'true',
  queue_name_prefix: 'myapp',
  queue_name_delimiter: '',
};

async function seed(extra: Record<string, string> = {}, queue = 'myapp_mailers'): Promise<void> {
  await seedCronDefinition(redis.source(), key, { ...fields, ...extra }, queue);
}

describe('an ActiveJob sidekiq-cron definition with queue_name_prefix and no message field', () => {
  it('is judged by the prefixed queue, and --rewrite-cron writes its queue field without the prefix', async () => {
    await seed();
    // A Sidekiq listening where the re-route sends the queue, so the check after judges only cron.
    await heartbeat(redis.source(), new SidekiqKeys(''), 'w:1:aaaaaaaaaaaa', ['myapp_notify'], { beatAt: Date.now() / 1000 });
    const scoped = await runCli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'myapp_mailers');
    expect(scoped.stdout).toContain('1 sidekiq-cron definition(s) still push to retired queues (mail_digest → myapp_mailers)');
    expect(scoped.code).toBe(3);

    const rename = ['--rename', 'myapp_mailers=myapp_notify'];
    const warned = await runCli('run', '--redis', redis.urls().source, ...rename, '--dry-run');
    expect(warned.stderr).toContain('warning: 1 sidekiq-cron definition(s) still push to their old queue (mail_digest: myapp_mailers → myapp_notify)');
    expect(warned.code).toBe(0);
    expect(await redis.source().hgetall(key)).toEqual(fields);

    const { code, stdout, stderr } = await runCli('run', '--redis', redis.urls().source, ...rename, '--rewrite-cron');
    expect(stderr).toContain('sidekiq-cron: 1 definition(s) now push to their new queue (mail_digest: myapp_mailers → myapp_notify)');
    expect(`${stdout}${stderr}`).not.toContain('could not be judged');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(code).toBe(0);
    // Only the queue field's value changed, to the bare queue the prefix turns into myapp_notify; no message added.
    expect(await redis.source().hgetall(key)).toEqual({ ...fields, queue: 'notify' });

    const after = await runCli('drain-check', '--redis', redis.urls().source, '--retired-queues', 'myapp_mailers');
    expect(after.stdout).toContain('  mail_digest → myapp_notify (1 listening)');
    expect(after.stdout).not.toContain('still push to retired queues');
    expect(after.code).toBe(0);
  });

  it('a destination its prefix cannot reach is named as not judged, its hash left as it is, exit 1', async () => {
    await seed({ queue_name_delimiter: '.' }, 'myapp.mailers');
    const { code, stdout, stderr } = await runCli('run', '--redis', redis.urls().source, '--rename', 'myapp.mailers=mailers', '--rewrite-cron');
    expect(stderr).toContain(
      "sidekiq-cron: 1 definition(s) could not be judged by the routing, left as they are (mail_digest: its queue_name_prefix makes it push to myapp.<its queue>, so it cannot push to mailers, where routing sends DigestJob): check where they push by hand.",
    );
    expect(stderr).not.toContain('now push to their new queue');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Done, but 1 sidekiq-cron definition(s) could not be judged by the routing, so not rewritten (see above).');
    expect(code).toBe(1);
    expect(await redis.source().hgetall(key)).toEqual({ ...fields, queue_name_delimiter: '.' });
  });
});
