import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config/config-error.js';
import { InputError } from '../../core/errors/input-error.js';
import { RetryableError } from '../../core/errors/sidekiq-migrate-error.js';
import { RedisCommandError } from '../../core/redis/redis-errors.js';
import { describeError, RETRYABLE_TASK_ERRORS, TASK_ERROR_MESSAGE_CHARS, TaskError, TaskErrorNames, toTaskError } from '../../functions/support/task-error.js';
import { SecretAccessError, SecretUnavailableError } from '../../functions/support/redis-credentials.js';
import { pageDeadline, SAFETY_MARGIN_MS } from '../../functions/support/time-budget.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../../core/redis/connect-redis.js';
import { resolveRoutingInput } from '../../core/workflow/resolve-routing.js';

describe('toTaskError', () => {
  it('names the three outcomes Step Functions tells apart, and retries only one', () => {
    expect(TaskErrorNames).toEqual({ invalidInput: 'InvalidInputError', retryable: 'RetryableError', fatal: 'FatalError' });
    expect(RETRYABLE_TASK_ERRORS).toEqual(['RetryableError']);
  });

  it.each([
    [new InputError('--catalog: no such file'), 'InvalidInputError'],
    [new ConfigError(['input.mode: bad']), 'InvalidInputError'],
    [new RetryableError('failover'), 'RetryableError'],
    [new SecretUnavailableError('throttled'), 'RetryableError'],
    [new RedisCommandError('WRONGTYPE'), 'FatalError'],
    [new SecretAccessError('AccessDenied'), 'FatalError'],
  ])('%s → %s, with the same message and the original as cause', (error, name) => {
    const mapped = toTaskError(error, 'plan');

    expect(mapped).toBeInstanceOf(TaskError);
    expect(mapped).toMatchObject({ name, message: error.message, cause: error, retryable: name === 'RetryableError' });
  });

  // An execution input's routing rules are compiled in the plan step (resolve-routing.ts) when the
  // execution was started without the CLI (a schedule, the console): the InvalidInputError said
  // GitLab's words for the first invalid rule only, without which rule it was or the other invalid
  // rules, all of which the CLI says for the same rules (cli/main.ts).
  it('an invalid input says where, what was expected and the other problems found with it, as the CLI says it', () => {
    const rules = [['unknownattr=x', 'a'], ['*', 'b'], ['badattr=y', 'c'], 'not a rule'];
    let thrown: unknown;
    try {
      resolveRoutingInput({ kind: 'rules', rules, catalogYaml: '[]' } as Parameters<typeof resolveRoutingInput>[0]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    const error = thrown as InputError;
    expect(error.where).toBe('routing rule 1 of the execution input');
    expect(error.more?.items).toHaveLength(2);
    const first = error.message;

    const mapped = toTaskError(error, 'plan');

    expect(mapped.name).toBe('InvalidInputError');
    expect(mapped.message).toMatch(/^.+\n {2}\(in routing rule 1 of the execution input\)\n {2}2 more invalid rule\(s\) in the execution input:\n {2}- routing rule 3: .+\n {2}- routing rule 4: .+$/);
    expect(mapped.message.startsWith(`${first}\n`)).toBe(true);
  });

  it('bounds a retryable or fatal message (it travels in the Map results), never an invalid input one', () => {
    const long = 'x'.repeat(5_000);

    expect(toTaskError(new RetryableError(long), 'page').message).toHaveLength(TASK_ERROR_MESSAGE_CHARS);
    expect(toTaskError(new RedisCommandError(long), 'page').message).toMatch(/^x+…$/);
    expect(toTaskError(new InputError(long), 'plan').message).toBe(long);
  });

  it('treats an unclassified transient Redis failure as retryable, anything else unknown as fatal', () => {
    const closed = Object.assign(new Error('Connection is closed.'), {});
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const bug = new TypeError("Cannot read properties of undefined (reading 'cursor')");

    // The classified error is the cause, with the same words; the original is its cause.
    for (const error of [closed, reset]) {
      const mapped = toTaskError(error, 'transfer-queue');
      expect(mapped).toMatchObject({ name: 'RetryableError', message: `transfer-queue: Redis is unreachable (${error.message})` });
      expect(mapped.cause).toMatchObject({ message: mapped.message, cause: error });
    }
    expect(toTaskError(bug, 'transfer-queue')).toMatchObject({ name: 'FatalError', message: `Unexpected TypeError in transfer-queue: ${bug.message}`, cause: bug });
    expect(toTaskError('a string', 'plan')).toMatchObject({ name: 'FatalError', message: 'Unexpected Error in plan: a string' });
  });

  it('leaves a TaskError as it is', () => {
    const error = new TaskError('FatalError', 'already mapped', { cause: undefined });
    expect(toTaskError(error, 'plan')).toBe(error);
  });
});

describe('describeError', () => {
  it("keeps names and messages along the cause chain, never the causes' properties", () => {
    // ioredis attaches the failed command, with its arguments, to its errors.
    const reply = Object.assign(new Error('WRONGPASS invalid username-password pair'), { name: 'ReplyError', command: { name: 'auth', args: ['hunter2'] } });
    const error = toTaskError(new InputError('source redis://h:6379: authentication failed', { cause: reply }), 'plan');

    const described = describeError(error);

    expect(described).toEqual({
      name: 'InvalidInputError',
      message: 'source redis://h:6379: authentication failed',
      causes: [
        { name: 'InputError', message: 'source redis://h:6379: authentication failed' },
        { name: 'ReplyError', message: 'WRONGPASS invalid username-password pair' },
      ],
    });
    expect(JSON.stringify(described)).not.toContain('hunter2');
  });
});

describe('pageDeadline', () => {
  const context = (remaining: number) => ({ getRemainingTimeInMillis: () => remaining });

  it('keeps the safety margin back from a long budget, and half of a short one', () => {
    expect(SAFETY_MARGIN_MS).toBe(45_000);
    expect(pageDeadline(context(900_000), 1_000)).toBe(1_000 + 855_000);
    expect(pageDeadline(context(300_000), 1_000)).toBe(1_000 + 255_000);
    expect(pageDeadline(context(60_000), 1_000)).toBe(1_000 + 30_000);
    expect(pageDeadline(context(4_000), 1_000)).toBe(1_000 + 2_000);
    expect(pageDeadline(context(0), 1_000)).toBe(1_000);
  });

  it("leaves a page started just before the deadline the time to fail on a hung Redis (its command timeout) before middy's early timeout", () => {
    // A failover mid-page: the command waits for the connection's command timeout, then the page
    // fails as retryable and the task returns the pages it wrote before it (onFailureAfterProgress).
    // Were middy's early timeout first, the task would fail instead, and the Retry would start
    // again from the input's cursor and counters: every page of the invocation gone from the counts.
    const PAGE_WORK_MS = 10_000; // the page's other commands on a slow Redis (WAITs of 3 s included)
    for (const remaining of [300_000, 120_000]) {
      const now = 1_000;
      const middyTimeout = now + remaining - 5;
      expect(pageDeadline(context(remaining), now) + DEFAULT_COMMAND_TIMEOUT_MS + PAGE_WORK_MS).toBeLessThan(middyTimeout);
    }
  });
});
