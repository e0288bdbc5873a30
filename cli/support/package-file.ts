import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The absolute path of a file this package ships, from its path in the repository
 * (`examples/gitlab-routing-rules.yml`). Found from the package root, the first directory up from
 * this code with our package.json: the same from the TypeScript sources (cli/support/) and from the
 * compiled CLI (dist/, where a path relative to the module would point elsewhere).
 */
export function packageFile(relative: string): string {
  root ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, relative);
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sidekiq-migrate') return dir;
    if (dirname(dir) === dir) throw new Error(`sidekiq-migrate: no package.json of sidekiq-migrate above ${from}: is the package installed completely?`);
  }
}
