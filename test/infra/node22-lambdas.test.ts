import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TemplateFunction } from './support/cdk-out.js';
import { Node22Lambdas } from './support/node22-lambdas.js';

/**
 * The warm containers the shipped-bundle test runs the bundles in behave as Lambda's do: Node 22,
 * one invocation at a time per function, the function's timeout enforced (the container is
 * replaced), errors reported by their name, the module loaded once per container.
 */
const dir = mkdtempSync(join(tmpdir(), 'node22-lambdas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A handler that records when each invocation ran, can sleep, fail, or report its cold start.
writeFileSync(
  join(dir, 'index.mjs'),
  `const loadedAt = Date.now();
export const handler = async (event, context) => {
  if (event.fail) throw Object.assign(new Error('it failed on purpose'), { name: 'RetryableError' });
  const started = Date.now();
  await new Promise((r) => setTimeout(r, event.sleepMs ?? 0));
  return { started, ended: Date.now(), loadedAt, node: process.version, remaining: context.getRemainingTimeInMillis(), env: process.env.SOME_SETTING };
};
`,
);

const fn: TemplateFunction = {
  logicalId: 'TestFunction',
  arn: 'arn:aws:lambda:eu-west-1:123456789012:function:TestFunction',
  codeDirectory: dir,
  handler: 'index.handler',
  runtime: 'nodejs22.x',
  timeoutSeconds: 2,
  memoryMb: 128,
  environment: { SOME_SETTING: 'from-the-template' },
};
type Result = { started: number; ended: number; loadedAt: number; node: string; remaining: number; env: string };

describe('Node 22 Lambda containers', () => {
  const lambdas = new Node22Lambdas(new Map([[fn.arn, fn]]), { region: 'eu-west-1', extra: {} });
  afterAll(() => lambdas.close());

  it('run on Node 22 with the template’s environment, one invocation at a time, the module loaded once', async () => {
    const results = (await Promise.all([lambdas.invoke(fn.arn, { sleepMs: 200 }), lambdas.invoke(fn.arn, { sleepMs: 200 })])) as Result[];

    expect(results.map((r) => r.node.split('.')[0])).toEqual(['v22', 'v22']);
    expect(results.map((r) => r.env)).toEqual(['from-the-template', 'from-the-template']);
    expect(results[1]!.started).toBeGreaterThanOrEqual(results[0]!.ended);
    expect(results[1]!.loadedAt).toBe(results[0]!.loadedAt);
    expect(results[0]!.remaining).toBeLessThanOrEqual(2_000);
  });

  it('report a handler’s error by its name, as Step Functions sees it', async () => {
    await expect(lambdas.invoke(fn.arn, { fail: true })).rejects.toMatchObject({ name: 'RetryableError', message: 'it failed on purpose' });
  });

  it('end an invocation at the function’s timeout and start a new container for the next one', async () => {
    const before = (await lambdas.invoke(fn.arn, {})) as Result;

    await expect(lambdas.invoke(fn.arn, { sleepMs: 60_000 })).rejects.toMatchObject({ name: 'Sandbox.Timedout', message: 'Task timed out after 2 seconds' });
    const after = (await lambdas.invoke(fn.arn, {})) as Result;

    expect(after.loadedAt).toBeGreaterThan(before.loadedAt);
  });
});
