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
