// `run --rewrite-cron` judges an ActiveJob sidekiq-cron definition by the queue it pushes to, its
// `queue_name_prefix` (and `queue_name_delimiter`, `active_job`) before its message's queue
// (sidekiq-cron job.rb queue_name_with_prefix), and writes the destination without that prefix
// into its message. The write (rewriteCronMessage) compared only the message: a definition whose
// prefix fields were saved between the plan's read and its write (an operator in the web UI, a
// Sidekiq booting with another schedule) got a queue computed for the old prefix, and pushed to a
// queue nobody routes to (other_notify, myapp_myapp_notify). The write now also requires the prefix
// fields as read (as rewriteCronQueueField does for a definition without a message): such a
// definition is left as it is now, and counted as saved meanwhile. The run then ended "Complete",
// exit 0, over a definition that may still push to a retired queue: it now names it and ends
// "Done, but N sidekiq-cron definition(s) changed while this run was rewriting them …", exit 1; a
// re-run that finds it already on its new queue ends Complete.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LuaScript } from '../../core/redis/lua-script.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateRedis();
afterEach(() => vi.restoreAllMocks());

const message = '{"queue":"mailers","class":"DigestJob","args":[],"retry":true}';
const prefixed = { klass: 'DigestJob', cron: '0 6 * * *', message, status: 'enabled', active_job: '1', queue_name_prefix: 'myapp', queue_name_delimiter: '' };
// Pushes to "myapp_mailers" too, without a prefix: its message names that queue.
const bareMessage = '{"queue":"myapp_mailers","class":"DigestJob","args":[],"retry":true}';
const bare = { klass: 'DigestJob', cron: '0 6 * * *', message: bareMessage, status: 'enabled' };

const LEFT_LINE = 'Done, but 1 sidekiq-cron definition(s) changed while this run was rewriting them, so not rewritten: re-run with --rewrite-cron to judge them again (see above).';

/** Runs `change` once, just before the first call of rewriteCronMessage (after the plan read the definitions). */
function beforeTheWrite(change: () => Promise<unknown>): () => number {
  const runAll = LuaScript.prototype.runAll;
  let changed = 0;
  vi.spyOn(LuaScript.prototype, 'runAll').mockImplementation(async function (this: LuaScript, client, calls, before, onSent) {
    if (this.name.startsWith('rewriteCronMessage-') && changed++ === 0) await change();
    return runAll.call(this, client, calls, before, onSent);
  });
  return () => changed;
}

describe('an ActiveJob sidekiq-cron definition whose prefix fields are saved between the read and the rewrite', () => {
  const cases: [name: string, fields: Record<string, string>, change: Record<string, string> | 'active_job removed'][] = [
    ['queue_name_prefix saved', prefixed, { queue_name_prefix: 'other' }],
    ['queue_name_delimiter saved', prefixed, { queue_name_delimiter: '.' }],
    ['active_job removed', prefixed, 'active_job removed'],
    ['a prefix added to one read without', bare, { active_job: 'true', queue_name_prefix: 'myapp' }],
  ];
  for (const [title, fields, change] of cases) {
    it(`${title}: left as it is now, counted and named as saved meanwhile, never Complete, the queue's jobs moved`, async () => {
      const key = 'cron_job:default:mail_digest';
      await redis.client().sadd('cron_jobs:default', key);
      await redis.client().hset(key, { name: 'mail_digest', namespace: 'default', ...fields });
      await redis.client().lpush('queue:myapp_mailers', sidekiqPayload({ className: 'OtherWorker', queue: 'myapp_mailers' }));
      const changed = beforeTheWrite(() => (change === 'active_job removed' ? redis.client().hdel(key, 'active_job') : redis.client().hset(key, change)));
      const saved = { name: 'mail_digest', namespace: 'default', ...fields, ...(change === 'active_job removed' ? {} : change) };
      if (change === 'active_job removed') delete (saved as Record<string, string>)['active_job'];

      const { code, stdout, stderr } = await runCli('run', '--redis', redis.url(), '--rename', 'myapp_mailers=myapp_notify', '--rewrite-cron');

      expect(changed()).toBe(1);
      expect(stderr).toContain('sidekiq-cron: 0 definition(s) now push to their new queue; 1 saved by someone else meanwhile, left as they are now (mail_digest).');
      expect(stdout.trimEnd().split('\n').at(-1)).toBe(LEFT_LINE);
      expect(await redis.client().hgetall(key)).toEqual(saved);
      expect(await redis.client().lrange('queue:myapp_notify', 0, -1)).toHaveLength(1);
      expect(await redis.client().llen('queue:myapp_mailers')).toBe(0);
      expect(code, stdout).toBe(1);
    });
  }

  it('a re-run that finds the definition on its new queue (rewritten meanwhile by someone else) ends Complete', async () => {
    const key = 'cron_job:default:mail_digest';
    await redis.client().sadd('cron_jobs:default', key);
    await redis.client().hset(key, { name: 'mail_digest', namespace: 'default', ...bare });
    // Someone saves it, already on the new queue, between the read and the write.
    beforeTheWrite(() => redis.client().hset(key, { message: bareMessage.replace('myapp_mailers', 'myapp_notify') }));

    const first = await runCli('run', '--redis', redis.url(), '--rename', 'myapp_mailers=myapp_notify', '--rewrite-cron');
    vi.restoreAllMocks();
    const again = await runCli('run', '--redis', redis.url(), '--rename', 'myapp_mailers=myapp_notify', '--rewrite-cron');

    expect(first.code, first.stdout).toBe(1);
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe(LEFT_LINE);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Complete/);
    expect(again.stderr).not.toContain('saved by someone else');
    expect(await redis.client().hget(key, 'message')).toBe(bareMessage.replace('myapp_mailers', 'myapp_notify'));
  });

  it('nothing saved meanwhile: rewritten, as before', async () => {
    const key = 'cron_job:default:mail_digest';
    await redis.client().sadd('cron_jobs:default', key);
    await redis.client().hset(key, { name: 'mail_digest', namespace: 'default', ...prefixed });
    const changed = beforeTheWrite(async () => undefined);

    const { code, stderr } = await runCli('run', '--redis', redis.url(), '--rename', 'myapp_mailers=myapp_notify', '--rewrite-cron');

    expect(changed()).toBe(1);
    expect(stderr).toContain('sidekiq-cron: 1 definition(s) now push to their new queue (mail_digest: myapp_mailers → myapp_notify).');
    expect(await redis.client().hgetall(key)).toEqual({ name: 'mail_digest', namespace: 'default', ...prefixed, message: message.replace('"queue":"mailers"', '"queue":"notify"') });
    expect(code).toBe(0);
  });
});
