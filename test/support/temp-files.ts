import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A new directory under the system's temporary one (its name starting with `prefix`, its path
 * `dir`), and the function that writes `text` to the file `name` there: it returns the file's path.
 */
export function tempFileWriter(prefix: string): ((name: string, text: string) => string) & { readonly dir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  return Object.assign(write, { dir });
}
