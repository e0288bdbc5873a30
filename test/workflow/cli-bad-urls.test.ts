// Redis URLs an operator mistypes: a password with an unencoded "#" or "/", a port out of range or
// not a number, a host and port without the scheme. Each said only "not a URL" (the password,
// rightly hidden, hid the reason too), or for "localhost:6379" that the scheme must be redis://
// "not localhost://" and the host is missing. Now each says what is wrong and how to write it;
// exit 2, nothing printed on stdout, nothing connected to.
import { describe, expect, it } from 'vitest';
import { refusingEndpoint } from '../support/refusing-endpoint.js';
import { runCli } from '../support/run-cli.js';

const EXPECTED = '(expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)';

describe('bad Redis URLs say what is wrong with them', () => {
  it.each([
    ['a "#" in the password', (port: number) => `redis://:p#ss@127.0.0.1:${port}`, (port: number) => `not a URL: redis://:***@127.0.0.1:${port}: its password has a "#", "?" or "/" (percent-encode them: %23, %3F, %2F; or give the password with --password) ${EXPECTED}`],
    ['a "/" in the password', (port: number) => `redis://user:p/ss@127.0.0.1:${port}`, (port: number) => `not a URL: redis://user:***@127.0.0.1:${port}: its password has a "#", "?" or "/" (percent-encode them: %23, %3F, %2F; or give the password with --password) ${EXPECTED}`],
    ['a port out of range', () => 'redis://127.0.0.1:99999', () => `not a URL: redis://127.0.0.1:99999: the port must be a number from 1 to 65535, not "99999" ${EXPECTED}`],
    ['a port that is not a number', () => 'redis://127.0.0.1:abc', () => `not a URL: redis://127.0.0.1:abc: the port must be a number from 1 to 65535, not "abc" ${EXPECTED}`],
  ])('%s', async (_case, url, words) => {
    const endpoint = await refusingEndpoint();
    try {
      for (const [args, option] of [
        [['run', '--redis', url(endpoint.port), '--rename', 'a=b'], '--redis'],
        [['move', '--from', url(endpoint.port), '--to', 'redis://127.0.0.1:1', '--rename', 'a=b'], '--from'],
        [['drain-check', '--redis', url(endpoint.port)], '--redis'],
      ] as const) {
        const result = await runCli(...args);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(`${option}: ${words(endpoint.port)}\n`);
      }
      expect(endpoint.attempts()).toBe(0);
    } finally {
      await endpoint.close();
    }
  });

  it.each(['127.0.0.1:6379', 'localhost:6379', 'localhost:6379/2'])('a host and port without the scheme: %s', async (url) => {
    const result = await runCli('run', '--redis', url, '--rename', 'a=b');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`--redis: ${url}: the scheme is missing: write redis://${url} (or rediss://${url} for TLS)\n`);
  });

  // A URL whose host was left out after its password: the port check took the text between the
  // first ":" and the "@" for a port, and printed the password ('not "hunter2@"') beside a URL it
  // had just redacted.
  it.each([
    ['redis://:hunter2@/0', 'redis://:***@/0'],
    ['redis://user:hunter2@/0', 'redis://user:***@/0'],
    ['unix://:hunter2@/var/run/redis.sock', 'unix://:***@/var/run/redis.sock'],
  ])('a password without a host: %s is refused without the password', async (url, shown) => {
    const result = await runCli('drain-check', '--redis', url);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stderr).toBe(`--redis: not a URL: ${shown} (expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)\n`);
  });
});
