import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { bufferIo } from '../../support/buffer-io.js';
import { CE_CATALOG } from '../../support/paths.js';

const run = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

describe('sidekiq-migrate match', () => {
  it('--json prints the sorted class names the query selects', async () => {
    const { code, stdout } = await run('match', '--catalog', CE_CATALOG, '--query', 'resource_boundary=memory', '--json');

    expect(code).toBe(0);
    const workers = JSON.parse(stdout) as string[];
    expect(workers).toHaveLength(12);
    expect(workers).toEqual([...workers].sort());
    // The docs' own example of a memory-bound worker.
    expect(workers).toContain('ProjectExportWorker');
  });

  it('lists worker and generated queue side by side', async () => {
    const { code, stdout } = await run('match', '--catalog', CE_CATALOG, '--query', 'worker_name=PostReceive|name=cronjob:admin_email');

    expect(code).toBe(0);
    expect(stdout).toMatch(/selects 2 of 567 workers/);
    expect(stdout).toMatch(/^AdminEmailWorker +cronjob:admin_email$/m);
    expect(stdout).toMatch(/^PostReceive +post_receive$/m);
  });

  it('says when the query also selects a placeholder queue, which is not a worker', async () => {
    const { stdout } = await run('match', '--catalog', CE_CATALOG, '--query', 'name=mailers');

    expect(stdout).toContain('selects 0 of 567 workers');
    expect(stdout).toContain('also selects the placeholder queue(s) mailers');
  });

  it('notes an accepted-but-surprising query', async () => {
    const { code, stdout } = await run('match', '--catalog', CE_CATALOG, '--query', '|urgency=high');

    expect(code).toBe(0);
    expect(stdout).toContain('selects 567 of 567 workers');
    expect(stdout).toContain('note: "|urgency=high" has an empty alternative');
  });

  it.each([
    ['feature_category="category_a"', 'Invalid term: feature_category="category_a"'],
    ['feature_category=', 'Invalid term: feature_category='],
    ['feature_category~category_a', 'Invalid term: feature_category~category_a'],
    ['invalid_term=a', 'Unknown predicate: invalid_term'],
  ])('exits 2 on %s with only GitLab\'s message', async (query, message) => {
    const { code, stdout, stderr } = await run('match', '--catalog', CE_CATALOG, '--query', query);

    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${message}\n`);
  });

  it('exits 2 on an unknown option', async () => {
    const { code, stderr } = await run('match', '--catalog', CE_CATALOG, '--query', '*', '--frobnicate');

    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--frobnicate'");
  });
});
