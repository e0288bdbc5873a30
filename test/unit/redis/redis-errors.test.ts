import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { KeyTypeError, keyTypeRefusal } from '../../../core/redis/key-type-error.js';
import { classifyRedisError, RedisCommandError, RedisUnavailableError } from '../../../core/redis/redis-errors.js';

/** An error as ioredis throws it: a message, and for a socket error a code. */
const replyError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('classifying what ioredis threw', () => {
  it('hands our own errors back unchanged', () => {
    const ours = new InputError('bad');
    expect(classifyRedisError(ours, 'doing')).toBe(ours);
  });

  it.each([
    ['READONLY You can\'t write against a read only replica.', 'the server is a read-only replica (a failover in progress, or a URL that names a replica)'],
    ['LOADING Redis is loading the dataset in memory', 'the server is still loading its data into memory'],
    ['BUSY Redis is busy running a script.', 'a script or function on the server has run past its time limit'],
    ['MASTERDOWN Link with MASTER is down', 'this replica has lost its link to its primary'],
    ['CLUSTERDOWN The cluster is down', 'the cluster is down'],
    [
      'NOREPLICAS Not enough good replicas to write. script: 20fdd958b1ee8d27f3e33af73b65c9f56cb059b8, on @user_script:159.',
      'the server refuses writes while fewer replicas than its min-replicas-to-write are connected and in sync',
    ],
  ])('takes a transient reply for retryable, and says what it means: %s', (message, meaning) => {
    const error = replyError(message);
    const classified = classifyRedisError(error, 'Moving a page');
    expect(classified).toBeInstanceOf(RedisUnavailableError);
    expect(classified.retryable).toBe(true);
    expect(classified.message).toBe(`Moving a page: ${meaning} (${message})`);
    expect(classified.cause).toBe(error);
  });

  // Redis 6.x (ElastiCache and self-managed GitLab still run 6.0 and 6.2) wraps an error a command
  // raises inside a script; 7.0 keeps the command's code first. A failover during a run read as a
  // fatal "ERR Error running script …" (the run stopped, not retried), and out of memory was not said.
  it.each([
    [
      "ERR Error running script (call to f_20fdd958b1ee8d27f3e33af73b65c9f56cb059b8): @user_script:159: @user_script: 159: -READONLY You can't write against a read only replica. ",
      "READONLY You can't write against a read only replica.",
      'the server is a read-only replica (a failover in progress, or a URL that names a replica)',
    ],
    [
      'ERR Error running script (call to f_20fdd958b1ee8d27f3e33af73b65c9f56cb059b8): @user_script:40: @user_script: 40: -NOREPLICAS Not enough good replicas to write. ',
      'NOREPLICAS Not enough good replicas to write.',
      'the server refuses writes while fewer replicas than its min-replicas-to-write are connected and in sync',
    ],
  ])('unwraps Redis 6.x\'s report of a transient error met inside a script: %s', (wrapped, inner, meaning) => {
    const classified = classifyRedisError(replyError(wrapped), 'Moving a page');
    expect(classified).toBeInstanceOf(RedisUnavailableError);
    expect(classified.message).toBe(`Moving a page: ${meaning} (${inner})`);
  });

  it("unwraps Redis 6.x's report of out of memory met inside a script", () => {
    const classified = classifyRedisError(
      replyError("ERR Error running script (call to f_20fdd958b1ee8d27f3e33af73b65c9f56cb059b8): @user_script:12: @user_script: 12: -OOM command not allowed when used memory > 'maxmemory'. "),
      'Moving a page',
    );
    expect(classified).toBeInstanceOf(RedisCommandError);
    expect(classified.message).toBe('Moving a page: Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.');
  });

  it('takes TRYAGAIN for retryable with its own words: our scripts reply it too, and say why', () => {
    const message = "TRYAGAIN copyJobsToLists: the job before this call's (b1:1) was not written; nothing written";
    const classified = classifyRedisError(replyError(message), 'Doing it');
    expect(classified).toBeInstanceOf(RedisUnavailableError);
    expect(classified.message).toBe(`Doing it: ${message}`);
  });

  it('reads a transient word only at the start, and only as a whole word', () => {
    for (const message of ['BUSYKEY Target key name already exists.', 'ERR READONLY is not a command here']) {
      const classified = classifyRedisError(replyError(message), 'x');
      expect(classified).toBeInstanceOf(RedisCommandError);
      expect(classified.retryable).toBe(false);
      expect(classified.message).toBe(`x: ${message}`);
    }
  });

  it('turns a guard refusal into a KeyTypeError naming the key, and any other WRONGTYPE into a fatal error about the prefix', () => {
    const refusal = replyError('WRONGTYPE sidekiq-migrate string list p:queue:a b');
    const typed = classifyRedisError(refusal, 'Re-routing queue a');
    expect(typed).toBeInstanceOf(KeyTypeError);
    expect(typed).toMatchObject({ key: 'p:queue:a b', actual: 'string', expected: 'list', retryable: false, cause: refusal });
    expect(typed.message).toBe(
      'Re-routing queue a: p:queue:a b holds a string, not a list; this step was refused before it wrote anything. Check the key prefix (--namespace), or move that key out of the way, then run again.',
    );

    const plain = replyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    const classified = classifyRedisError(plain, 'Reading');
    expect(classified).toBeInstanceOf(RedisCommandError);
    expect(classified).not.toBeInstanceOf(KeyTypeError);
    expect(classified.message).toBe('Reading: the key holds another type of value than Sidekiq uses there (WRONGTYPE); check the key prefix');
    expect(classified.cause).toBe(plain);
  });

  it('takes a pipeline ioredis aborted when the connection closed for retryable (a failover or CLIENT KILL mid-page failed the item)', () => {
    const error = Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' });
    const classified = classifyRedisError(error, 'Re-routing jobs of queue:q2');
    expect(classified).toBeInstanceOf(RedisUnavailableError);
    expect(classified.retryable).toBe(true);
    expect(classified.message).toBe('Re-routing jobs of queue:q2: the connection to Redis closed during the call (Command aborted due to connection close)');
    expect(classified.cause).toBe(error);
    // By its name alone too (ioredis's wording may change), and by its wording without the name.
    const named = classifyRedisError(Object.assign(new Error('aborted'), { name: 'AbortError' }), 'x');
    expect(named.message).toBe('x: the connection to Redis closed during the call (aborted)');
    expect(classifyRedisError(new Error('Connection is discarded'), 'x').message).toBe('x: the connection to Redis closed during the call (Connection is discarded)');
  });

  it('takes an out-of-memory refusal for fatal, saying what to do (retrying in seconds meets the same full server)', () => {
    const error = replyError("OOM command not allowed when used memory > 'maxmemory'. script: 9c67fa8a, on @user_script:98.");
    const classified = classifyRedisError(error, 'Transferring queue:a');
    expect(classified).toBeInstanceOf(RedisCommandError);
    expect(classified.retryable).toBe(false);
    expect(classified.message).toBe(
      'Transferring queue:a: Redis is out of memory (maxmemory reached, nothing it may evict); the call wrote nothing. Free memory or raise maxmemory, then run the same command again.',
    );
    expect(classified.cause).toBe(error);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND'])('takes the socket error %s for an unreachable Redis', (code) => {
    const error = replyError('socket trouble', code);
    const classified = classifyRedisError(error, 'Connecting');
    expect(classified).toBeInstanceOf(RedisUnavailableError);
    expect(classified.message).toBe('Connecting: Redis is unreachable (socket trouble)');
    expect(classified.cause).toBe(error);
  });

  it.each(['Connection is closed.', "Stream isn't writeable and enableOfflineQueue options is false", 'Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.', 'Command timed out', 'connect ETIMEDOUT', 'connection is CLOSED'])(
    "takes ioredis's words for an unreachable Redis: %s",
    (message) => {
      const classified = classifyRedisError(replyError(message), 'Paging');
      expect(classified).toBeInstanceOf(RedisUnavailableError);
      expect(classified.message).toBe(`Paging: Redis is unreachable (${message})`);
    },
  );

  it('keeps any other reply as a fatal error, and copes with something that is not an Error', () => {
    const reply = replyError('ERR unknown command', 'ESOMETHING');
    const other = classifyRedisError(reply, 'Calling');
    expect(other).toBeInstanceOf(RedisCommandError);
    expect(other.message).toBe('Calling: ERR unknown command');
    expect(other.cause).toBe(reply);
    expect(classifyRedisError('a string', 'Calling').message).toBe('Calling: a string');
    expect(classifyRedisError(undefined, 'Calling').message).toBe('Calling: undefined');
    expect(classifyRedisError(null, 'Calling').message).toBe('Calling: null');
  });
});

describe('a guard refusal', () => {
  it('is read from the reply, the key last (it may hold spaces and newlines)', () => {
    const cause = new Error('x');
    const error = keyTypeRefusal('WRONGTYPE sidekiq-migrate hash zset my key\nwith a newline', 'Transferring', cause);
    expect(error).toBeInstanceOf(KeyTypeError);
    expect(error).toMatchObject({ key: 'my key\nwith a newline', actual: 'hash', expected: 'zset', cause });
  });

  it('is only a reply of that exact shape', () => {
    for (const message of ['WRONGTYPE Operation against a key', 'ERR WRONGTYPE sidekiq-migrate string list k', 'WRONGTYPE sidekiq-migrate string']) {
      expect(keyTypeRefusal(message, 'x', null)).toBeNull();
    }
  });
});
