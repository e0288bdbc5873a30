import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactRedisUrl } from '../../../core/redis/redis-url.js';

describe('redactRedisUrl', () => {
  it('hides the password and keeps the user, host, port and database', () => {
    expect(redactRedisUrl('rediss://app:s3cret@redis.example.com:6380/2')).toBe('rediss://app:***@redis.example.com:6380/2');
    expect(redactRedisUrl('redis://:s3cret@127.0.0.1')).toBe('redis://:***@127.0.0.1');
    expect(redactRedisUrl('redis://tokenonly@127.0.0.1')).toBe('redis://***@127.0.0.1');
    expect(redactRedisUrl('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
  });

  it('hides a password written with an unencoded "@" or "/" whole', () => {
    expect(redactRedisUrl('redis://:p@ss@word@host:6379')).toBe('redis://:***@host:6379');
    expect(redactRedisUrl('redis://user:a/b@c@host')).toBe('redis://user:***@host');
  });

  it('never puts the password in a parse error', () => {
    expect(() => parseRedisUrl('http://:p@ss@word@host', '--from')).toThrow(/^--from http:\/\/:\*\*\*@host: the scheme must be redis/);
    let message = '';
    try {
      parseRedisUrl('redis://:p@ss@word@host/x');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('--redis redis://:***@host/x: the database must be a number, not "x"');
  });
});

describe('parseRedisUrl', () => {
  it('reads every part, with defaults for the port and database', () => {
    expect(parseRedisUrl('rediss://app:p%40ss@redis.example.com:6380/2')).toEqual({
      url: 'rediss://app:p%40ss@redis.example.com:6380/2',
      redacted: 'rediss://app:***@redis.example.com:6380/2',
      tls: true,
      host: 'redis.example.com',
      port: 6380,
      db: 2,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis://[::1]')).toMatchObject({ tls: false, host: '::1', port: 6379, db: 0, username: undefined, password: undefined });
    expect(parseRedisUrl('redis://h/')).toMatchObject({ db: 0 });
    expect(parseRedisUrl('redis://us%20er@h')).toMatchObject({ username: 'us er', password: undefined });
  });

  it('lists every problem at once, under the option it came from', () => {
    expect(() => parseRedisUrl('http://h/-1', '--to')).toThrow('--to http://h/-1: the scheme must be redis:// or rediss:// (TLS), not http://; the database must be a number, not "-1"');
    expect(() => parseRedisUrl('redis://h/1.5')).toThrow('--redis redis://h/1.5: the database must be a number, not "1.5"');
    expect(() => parseRedisUrl('nope', '--from')).toThrow('--from: not a URL: nope (expected redis://[user:password@]host[:port][/db] or rediss://… for TLS)');
    expect(() => parseRedisUrl('redis:///0')).toThrow('--redis redis:///0: the host is missing');
  });
});

describe('what another client would read but we would not', () => {
  it('refuses a query or fragment (?db=3 would otherwise mean database 0), never showing it', () => {
    expect(() => parseRedisUrl('redis://h:6379?db=3')).toThrow(
      '--redis redis://h:6379?…: a query (?…) or fragment (#…) is not read: give the database as the path (/3) and the password in the URL\'s user part or with --password',
    );
    expect(() => parseRedisUrl('redis://h/0?password=s3cret', '--to')).toThrow(/^--to redis:\/\/h\/0\?…: a query/);
    expect(() => parseRedisUrl('redis://h/0?password=s3cret')).not.toThrow(/s3cret/);
    expect(() => parseRedisUrl('redis+sentinel://h?password=s3cret')).not.toThrow(/s3cret/);
    expect(() => parseRedisUrl('redis://h/2#x')).toThrow(/a query \(\?…\) or fragment \(#…\) is not read/);
  });

  it('takes digits only for the database ("0x1", "1e0", "-0" are not numbers here)', () => {
    for (const db of ['0x1', '1e0', '-0', '+1']) expect(() => parseRedisUrl(`redis://h/${db}`)).toThrow(`--redis redis://h/${db}: the database must be a number, not "${db}"`);
    // A number, but past any database Redis can have (its `databases` setting is at most 2^31-1).
    for (const db of ['99999999999999999999', '2147483647']) expect(() => parseRedisUrl(`redis://h/${db}`)).toThrow(`--redis redis://h/${db}: the database ${db} is too large: Redis has at most 2147483647 databases, 0 to 2147483646`);
    expect(parseRedisUrl('redis://h/2147483646').db).toBe(2147483646);
    expect(() => parseRedisUrl('unix:///s?db=99999999999999999999')).toThrow('--redis unix:///s?…: the database (?db=) 99999999999999999999 is too large: Redis has at most 2147483647 databases, 0 to 2147483646');
    expect(parseRedisUrl('redis://h/15')).toMatchObject({ db: 15 });
  });

  it('says a user name or password with a bare "%" is not percent-encoded, without showing it (not "URI malformed")', () => {
    expect(() => parseRedisUrl('redis://app:100%sure@h/1', '--from')).toThrow('--from redis://app:***@h/1: the password is not validly percent-encoded (write "%" as %25, or give the password with --password)');
    expect(() => parseRedisUrl('redis://ap%zzp:pw@h')).toThrow('--redis redis://ap%zzp:***@h: the user name is not validly percent-encoded');
    expect(parseRedisUrl('redis://app:100%25sure%23%3F%40@h')).toMatchObject({ password: '100%sure#?@' });
  });

  it("reads a Unix socket URL as GitLab does (unix:///path or unix:/path, ?db=N); names Sentinel as unsupported, with the way round it", () => {
    expect(parseRedisUrl('unix:///var/opt/gitlab/redis/redis.socket')).toMatchObject({ path: '/var/opt/gitlab/redis/redis.socket', db: 0, tls: false, password: undefined });
    expect(parseRedisUrl('unix:/var/opt/gitlab/redis/redis.socket?db=3')).toMatchObject({ path: '/var/opt/gitlab/redis/redis.socket', db: 3 });
    expect(() => parseRedisUrl('unix:///tmp/r.sock?password=x')).toThrow('--redis unix:///tmp/r.sock?…: only ?db=N is read after the path');
    expect(() => parseRedisUrl('redis+unix:///tmp/r.sock')).toThrow("--redis redis+unix:///tmp/r.sock: write a Unix socket as unix:///path/to/redis.socket (GitLab's form; ?db=N for a database other than 0)");
    expect(() => parseRedisUrl('redis+sentinel://:pw@s1:26379/mymaster', '--from')).toThrow(
      "--from redis+sentinel://:***@s1:26379/mymaster: Redis Sentinel is not supported: give the current primary's address as redis://host:port (a sentinel tells it: SENTINEL get-master-addr-by-name <name>)",
    );
  });
});

describe('a URL with text in front of its scheme', () => {
  it('still hides the password: new URL accepts leading spaces, and an error shows the text as given', () => {
    // Found by mutation testing: with the scheme anchored at the start, both kept the password.
    expect(parseRedisUrl(' redis://:s3cret@h:6380')).toMatchObject({ redacted: ' redis://:***@h:6380', host: 'h', port: 6380, password: 's3cret' });
    expect(() => parseRedisUrl('1redis://:s3cret@h', '--from')).toThrow('--from: not a URL: 1redis://:***@h (expected');
    expect(() => parseRedisUrl('1redis://:s3cret@h', '--from')).not.toThrow(/s3cret/);
  });

  it('hides a password with a line break, a tab or a space in it (new URL drops the first two)', () => {
    expect(parseRedisUrl('redis://u:se\ncr\tet@h')).toMatchObject({ redacted: 'redis://u:***@h', password: 'secret' });
    expect(redactRedisUrl('redis://u:se\ncret@h\nx@y')).toBe('redis://u:***@y');
    expect(redactRedisUrl('redis://u:se cret@h')).toBe('redis://u:***@h');
  });
});
