import { fileURLToPath } from 'node:url';

/** Absolute paths of the repository's own files, for tests that run from any directory. */
export const repoPath = (relative: string): string => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

export const CE_CATALOG = repoPath('test/fixtures/gitlab/all_queues.yml');
export const EXAMPLE_RULES = repoPath('examples/gitlab-routing-rules.yml');
