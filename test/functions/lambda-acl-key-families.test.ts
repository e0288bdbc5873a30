import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { aclUsersServer, keyPatternsWithout } from '../support/acl-users-server.js';
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
const acl = aclUsersServer({
  nodead: ['%R~*', ...keyPatternsWithout('dead'), '&*', '+@all'],
  nolrem: ['~*', '&*', '+@all', '-lrem'],
});
const loaded: LoadedHandlers[] = [];
afterEach(async () => {
  await Promise.all(loaded.splice(0).map((h) => h.connections.close()));
  vi.unstubAllEnvs();
});
afterAll(() => secrets.restore());

const seed = () => acl.seed(['dead']);

async function container(user: string): Promise<LoadedHandlers> {
  secrets.on(GetSecretValueCommand, { SecretId: secretOf(user) }).resolves({ ARN: secretOf(user), Name: user, SecretString: JSON.stringify({ username: user, password: 'pw' }) });
  const h = await coldStart({ SIDEKIQ_MIGRATE_SOURCE_URL: acl.server.url, SIDEKIQ_MIGRATE_SOURCE_SECRET_ARN: secretOf(user) });
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

    await expect(h.plan(reroute, fakeContext())).rejects.toMatchObject({ name: 'InvalidInputError', message: `source ${acl.server.url}: ${said}` });

    expect(await keyValueSnapshot(acl.admin)).toEqual(before);
  });
});
