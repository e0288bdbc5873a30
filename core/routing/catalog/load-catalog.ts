import { basename, resolve } from 'node:path';
import { readInputFile } from '../../config/read-input-file.js';
import { isMap, isScalar, isSeq, parseDocument, Scalar, visit, type Document, type Node, type YAMLMap } from 'yaml';
import { sym, type RubyAtom } from '../ruby-value.js';
import { generatedQueueName } from '../generated-queue-name.js';
import { CatalogError } from './catalog-error.js';
import type { WorkerCatalog, WorkerMetadata } from './worker-metadata.js';

/**
 * Reads GitLab's worker catalog (`app/workers/all_queues.yml`, and `ee/app/workers/all_queues.yml`
 * for EE) the way GitLab's Psych does: a plain `:low` is a Symbol, a plain `low` a String, an
 * empty value nil. Several files can be given (CE + EE); a class in two of them is an error.
 *
 * Every problem names the file, the entry (1-based, with its `:name:` when it has one) and the
 * field, e.g. `all_queues.yml entry 12 (name "foo"): :urgency: must be a symbol or nil, got [1]`.
 */
export function loadCatalog(paths: readonly string[]): WorkerCatalog {
  if (paths.length === 0) throw new CatalogError('No worker catalog given: pass --catalog PATH (GitLab\'s app/workers/all_queues.yml).');
  const workers: WorkerMetadata[] = [];
  const warnings: string[] = [];
  // The same file twice (typed again for EE's, or as ./x and x) was said as every class in two
  // catalogs: "X appears twice: all_queues.yml entry 1 and all_queues.yml entry 1".
  const given = new Map<string, string>();
  for (const path of paths) {
    const first = given.get(resolve(path));
    if (first !== undefined) {
      throw new CatalogError(`The worker catalog ${path} is given twice${first !== path ? ` (as ${first} too)` : ''}: give each catalog once (GitLab's app/workers/all_queues.yml, and ee/app/workers/all_queues.yml for EE)`);
    }
    given.set(resolve(path), path);
  }
  for (const path of paths) {
    const text = readInputFile(path, 'worker catalog');
    const parsed = parseCatalogText(text, path);
    workers.push(...parsed.workers);
    warnings.push(...parsed.warnings);
  }
  rejectDuplicateClasses(workers);
  return { workers, files: [...paths], warnings };
}

/** "line L, column C" (1-based) of a character offset in `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** Parses one catalog's text; `file` is used in messages only. */
export function parseCatalogText(text: string, file: string): { workers: WorkerMetadata[]; warnings: string[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    // Each with its line and column (a catalog has thousands of lines), all at once.
    const [first, ...others] = doc.errors.map((e) => `${lineAndColumn(text, e.pos[0])}: ${e.message.split('\n')[0]}`);
    const error = new CatalogError(`${file}: not valid YAML (${first!.replace(': ', '): ')}`, { cause: doc.errors[0] });
    if (others.length > 0) {
      error.more = { heading: `${others.length} more YAML error(s) in ${file}:`, items: others.length <= 10 ? others : [...others.slice(0, 10), `… and ${others.length - 10} more`] };
    }
    throw error;
  }
  rejectAliases(doc, text, file);
  const root = doc.contents;
  if (!isSeq(root)) {
    throw new CatalogError(`${file}: a worker catalog is a YAML list of worker entries (GitLab's all_queues.yml), got ${describeNode(root)}`);
  }
  const workers: WorkerMetadata[] = [];
  const warnings: string[] = [];
  root.items.forEach((item, i) => {
    const entry = new EntryReader(file, i + 1, item as Node | null);
    const worker = entry.read();
    workers.push(worker);
    if (!worker.placeholder && worker.workerName !== null) {
      const expected = generatedQueueName(worker.workerName, worker.queueNamespace === null ? null : atomName(worker.queueNamespace));
      if (expected !== worker.name) {
        warnings.push(
          `${entry.where()}: :name: is "${worker.name}" but GitLab's naming rule gives "${expected}" for ${worker.workerName}; using the catalog's name`,
        );
      }
    }
  });
  return { workers, warnings };
}

/**
 * A YAML alias (`*name`, also in `<<: *name`) stands for a value written elsewhere in the file.
 * GitLab generates all_queues.yml without any; read as it stands, an alias is no attribute value,
 * and a merge key would be ignored with every attribute it brings, routing the worker without them.
 */
function rejectAliases(doc: Document, text: string, file: string): void {
  visit(doc, {
    Alias(_, alias) {
      const line = text.slice(0, alias.range?.[0] ?? 0).split('\n').length;
      throw new CatalogError(`${basename(file)} line ${line}: *${alias.source} is a YAML alias; a worker catalog is read without aliases: write the value out, as GitLab's generated all_queues.yml does`);
    },
  });
}

const PLACEHOLDERS: Record<string, string | null> = { default: null, mailers: 'ActionMailer::MailDeliveryJob' };

class EntryReader {
  private fields = new Map<string, Node | null>();
  private name: string | undefined;
  /** Refuse a String where GitLab writes a Symbol (set for real workers; placeholders keep theirs). */
  private symbolsOnly = false;

  constructor(
    private readonly file: string,
    private readonly entry: number,
    private readonly node: Node | null,
  ) {}

  where(): string {
    const label = this.name === undefined ? '' : ` (name ${JSON.stringify(this.name)})`;
    return `${basename(this.file)} entry ${this.entry}${label}`;
  }

  read(): WorkerMetadata {
    if (!isMap(this.node)) throw this.error(`must be a mapping of worker attributes, got ${describeNode(this.node)}`);
    for (const pair of (this.node as YAMLMap).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) throw this.error('has a key that is not a plain name');
      // Read as a plain key it would be ignored, and with it every attribute it was meant to bring.
      if (key === '<<') throw this.error('"<<" (a YAML merge key) is not read in a worker catalog: write the attributes out, as GitLab\'s generated all_queues.yml does');
      // GitLab writes Ruby-symbol keys (`:name:`); a hand-written catalog may use `name:`. Both in
      // one entry are one attribute given twice: which one counts would be a silent choice.
      const field = key.replace(/^:/, '');
      if (this.fields.has(field)) throw this.error(`gives :${field}: twice (as ":${field}:" and "${field}:")`);
      this.fields.set(field, (pair.value as Node | null) ?? null);
    }
    const name = this.requiredString('name');
    this.name = name;
    const workerName = this.optionalString('worker_name');
    // Own keys only: `in` would take `constructor` or `toString`, which every object has, for placeholders.
    const placeholder = Object.hasOwn(PLACEHOLDERS, name) && (workerName === null || workerName === PLACEHOLDERS[name]);
    if (workerName === null && !placeholder) throw this.error(':worker_name: is missing; every worker entry names its class');
    // A real worker's attributes are Symbols at run time, which GitLab's router matches.
    this.symbolsOnly = !placeholder;
    return {
      name,
      workerName,
      featureCategory: this.atom('feature_category'),
      hasExternalDependencies: this.boolean('has_external_dependencies'),
      urgency: this.atom('urgency'),
      resourceBoundary: this.atom('resource_boundary'),
      weight: this.integer('weight'),
      idempotent: this.boolean('idempotent'),
      tags: this.atomList('tags'),
      queueNamespace: this.atom('queue_namespace'),
      placeholder,
      source: { file: this.file, entry: this.entry },
    };
  }

  private scalar(field: string): Scalar | null {
    const node = this.fields.get(field) ?? null;
    if (node === null) return null;
    if (!isScalar(node)) throw this.error(`:${field}: must be a single value, got ${describeNode(node)}`);
    return node.value === null ? null : node;
  }

  private requiredString(field: string): string {
    const node = this.scalar(field);
    if (node === null || typeof node.value !== 'string' || node.value === '') {
      throw this.error(`:${field}: must be a non-empty string, got ${node === null ? 'nothing' : JSON.stringify(node.value)}`);
    }
    return node.value;
  }

  private optionalString(field: string): string | null {
    const node = this.scalar(field);
    if (node === null) return null;
    if (typeof node.value !== 'string') throw this.error(`:${field}: must be a string or empty, got ${JSON.stringify(node.value)}`);
    return node.value;
  }

  private atom(field: string): RubyAtom | null {
    const node = this.scalar(field);
    return node === null ? null : this.toAtom(node, `:${field}:`);
  }

  private toAtom(node: Scalar, label: string): RubyAtom {
    if (typeof node.value !== 'string') throw this.error(`${label} must be a symbol such as :low, got ${JSON.stringify(node.value)}`);
    // Psych makes a Symbol of a *plain* scalar starting with ':'; a quoted one stays a String.
    const plain = node.type === Scalar.PLAIN || node.type === undefined;
    if (plain && node.value.length > 1 && node.value.startsWith(':')) return sym(node.value.slice(1));
    // GitLab's router matches the worker's runtime attributes, Symbols, and the all_queues.yml it
    // generates writes them so; read as a String, the value would match no query here, and the
    // worker would take a later rule than in GitLab without a word.
    if (this.symbolsOnly) {
      const name = node.value.replace(/^:/, '');
      throw this.error(`${label} is the String ${JSON.stringify(node.value)}, which no query matches: GitLab's router compares Symbols (its generated all_queues.yml writes :${name}); write :${name}`);
    }
    return node.value;
  }

  private boolean(field: string): boolean | null {
    const node = this.scalar(field);
    if (node === null) return null;
    if (typeof node.value !== 'boolean') throw this.error(`:${field}: must be true, false or empty, got ${JSON.stringify(node.value)}`);
    return node.value;
  }

  private integer(field: string): number | null {
    const node = this.scalar(field);
    if (node === null) return null;
    if (typeof node.value !== 'number' || !Number.isInteger(node.value)) {
      throw this.error(`:${field}: must be an integer or empty, got ${JSON.stringify(node.value)}`);
    }
    return node.value;
  }

  private atomList(field: string): RubyAtom[] {
    const node = this.fields.get(field) ?? null;
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) throw this.error(`:${field}: must be a list such as [:cronjob_child] or [], got ${describeNode(node)}`);
    return node.items.map((item, i) => {
      if (!isScalar(item) || item.value === null) throw this.error(`:${field}: item ${i + 1} must be a symbol, got ${describeNode(item as Node)}`);
      return this.toAtom(item, `:${field}: item ${i + 1}`);
    });
  }

  private error(problem: string): CatalogError {
    return new CatalogError(`${this.where()}: ${problem}`);
  }
}

function atomName(atom: RubyAtom): string {
  return typeof atom === 'string' ? atom : atom.symbol;
}

function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return JSON.stringify(node.value);
  return 'something else';
}

function rejectDuplicateClasses(workers: readonly WorkerMetadata[]): void {
  const seen = new Map<string, WorkerMetadata>();
  for (const w of workers) {
    if (w.workerName === null || w.placeholder) continue;
    const first = seen.get(w.workerName);
    if (first) {
      throw new CatalogError(
        `${w.workerName} appears twice: ${basename(first.source.file)} entry ${first.source.entry} and ${basename(w.source.file)} entry ${w.source.entry}`,
      );
    }
    seen.set(w.workerName, w);
  }
}
