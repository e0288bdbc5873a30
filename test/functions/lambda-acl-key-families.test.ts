import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { fakeContext } from './support/lambda-harness.js';
import { coldStart, type LoadedHandlers } from './support/load-handlers.js';

// The Lambdas' connections checked no permission at all (the CLI's check runs on connecting, with
// the connection's use; a Lambda's connection has none): a user without a command or a key
// family a run writes had the plan take the lock and store the run, and the page tasks move some
// families and fail on the others. The plan (the first task of every execution) now checks each
// end before anything is touched: InvalidInputError naming the user and what it lacks.
const secrets = mockClient(SecretsManagerClient);
// One secret a user: the secret's value is cached for the process.
const secretOf = (user: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:sidekiq-migrate/${user}-AbCdEf`;
const writable = ['~queue:*', '~queues', '~schedule', '~retry', '~dead', '~interrupted', '~sidekiq-migrate:*', '~cron_job*'];
let server: RedisServerHandle;
let admin: Redis;
const loaded: LoadedHandlers[] = [];
beforeAll(async () => {
  server = await startRedisServer([
    '--user', 'default', 'on', 'nopass', '~*', '&*', '+@all',
    '--user', 'nodead', 'on', '>pw', '%R~*', ...writable.filter((p) => p !== '~dead'), '&*', '+@all',
    '--user', 'nolrem', 'on', '>pw', '~*', '&*', '+@all', '-lrem',
  ]);
  admin = new Redis(server.url, { protocol: 2 });
});
afterEach(async () => {
  await Promise.all(loaded.splice(0).map((h) => h.connections.close()));
  vi.unstubAllEnvs();
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
  secrets.restore();
});

async function seed(): Promise<Awaited<ReturnType<typeof keyValueSnapshot>>> {
  await admin.flushall();
  await admin.rpush('queue:old', sidekiqPayload({ className: 'A', queue: 'old', args: '[1]' }));
  await admin.sadd('queues', 'old');
  await admin.zadd('dead', '1795459303', sidekiqPayload({ className: 'A', queue: 'old', args: '[3]' }));
  return keyValueSnapshot(admin);
}

async function container(user: string): Promise<LoadedHandlers> {
  secrets.on(GetSecretValueCommand, { SecretId: secretOf(user) }).resolves({ ARN: secretOf(user), Name: user, SecretString: JSON.stringify({ username: user, password: 'pw' }) });
  const h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: server.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: secretOf(user) });
  loaded.push(h);
  return h;
}

const reroute = { runId: 'acl-1', mode: 'reroute', routing: { kind: 'renames', renames: { old: 'new' } } };

describe("a deployed run whose source user may not do all a run does", { timeout: 120_000 }, () => {
  it.each([
    ['nodead', 'the user nodead may not write dead, which a migration writes (its step there would be refused after others had changed data). Grant them (ACL SETUSER nodead ~dead) or use another user. Nothing was touched.'],
    ['nolrem', 'the user nolrem may not run LREM, which a migration needs. Grant them (ACL SETUSER … +lrem) or use another user. Nothing was touched.'],
  ])('%s: the plan fails as InvalidInputError naming it, nothing touched', async (user, said) => {
    const before = await seed();
    const h = await container(user);

    await expect(h.plan(reroute, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: `source ${server.url}: ${said}` });

    expect(await keyValueSnapshot(admin)).toEqual(before);
  });
});
