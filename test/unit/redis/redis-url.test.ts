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
