import { describe, expect, it } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { CE_CATALOG } from '../support/paths.js';
import { privateRedis } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { tempFileWriter } from '../support/temp-files.js';

// A typo in the key of a gitlab.yml's rules (`routing_rule:`): no routing_rules, so GitLab's
// default [["*", "default"]] applied, and a run sent every worker's jobs to default, with only a
// warning on stderr ("No routing rules are configured"). Where GitLab would silently fall back, we
// refuse (README, How routing works): exit 2, naming the key, nothing touched.
const redis = privateRedis();
const file = tempFileWriter('cli-rules-key-typo-');
const typo = () => file('gitlab.yml', 'production:\n  sidekiq:\n    log_format: json\n    routing_rule:\n      - ["resource_boundary!=cpu&urgency=high", "high-urgency"]\n      - ["*", "default"]\n');

describe('a gitlab.yml whose sidekiq section misspells routing_rules', { timeout: 60_000 }, () => {
  it('is refused by routes and run, exit 2, naming the key, nothing touched', async () => {
    const client = redis.client();
    await client.rpush('queue:post_receive', sidekiqPayload({ className: 'PostReceive', queue: 'post_receive', args: '[1]' }));
    await client.sadd('queues', 'post_receive');
    const before = await keyValueSnapshot(client);
    const path = typo();
    const message = `${path}: production.sidekiq has no routing_rules, but has routing_rule: did you mean routing_rules? Without it GitLab uses [["*", "default"]] and every worker goes to default.`;

    const routes = await runCli('routes', '--catalog', CE_CATALOG, '--rules', path);
    const run = await runCli('run', '--redis', redis.url(), '--catalog', CE_CATALOG, '--rules', path);

    for (const result of [routes, run]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim()).toBe(message);
    }
    expect(await keyValueSnapshot(client)).toEqual(before);
  });
});
