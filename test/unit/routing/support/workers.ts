import { fileURLToPath } from 'node:url';
import type { WorkerMetadata } from '../../../../core/routing/catalog/worker-metadata.js';
import { sym, type RubyAtom } from '../../../../core/routing/ruby-value.js';

/** Absolute path of a file of this repository, from its path relative to the repository root. */
export const fromRepo = (relative: string): string => fileURLToPath(new URL(`../../../../${relative}`, import.meta.url));

/** GitLab CE's worker catalog (567 workers + the `default` and `mailers` placeholders). */
export const CE_CATALOG_PATH = fromRepo('test/fixtures/gitlab/all_queues.yml');

/** A fixture of this folder: test/fixtures/routing/<name>. */
export const routingFixture = (name: string): string => fromRepo(`test/fixtures/routing/${name}`);

/**
 * A worker as the catalog would describe it. Attributes GitLab stores as Ruby symbols are given as
 * their text (`urgency: 'high'` means `:high`). Anything not given is nil (tags: []). For a Ruby
 * String where GitLab has a Symbol, override the field of the result (see MAILERS_PLACEHOLDER).
 */
export interface WorkerSpec {
  readonly workerName: string | null;
  /** The generated queue name, always written out by hand in the tests. */
  readonly name: string;
  readonly featureCategory?: string | null;
  readonly hasExternalDependencies?: boolean | null;
  readonly urgency?: string | null;
  readonly resourceBoundary?: string | null;
  readonly tags?: readonly string[];
  readonly queueNamespace?: string | null;
  readonly weight?: number | null;
  readonly idempotent?: boolean | null;
  readonly placeholder?: boolean;
}

const optionalAtom = (value: string | null | undefined): RubyAtom | null => (value === null || value === undefined ? null : sym(value));

export function workerMetadata(spec: WorkerSpec): WorkerMetadata {
  return {
    name: spec.name,
    workerName: spec.workerName,
    featureCategory: optionalAtom(spec.featureCategory),
    hasExternalDependencies: spec.hasExternalDependencies ?? null,
    urgency: optionalAtom(spec.urgency),
    resourceBoundary: optionalAtom(spec.resourceBoundary),
    weight: spec.weight ?? null,
    idempotent: spec.idempotent ?? null,
    tags: (spec.tags ?? []).map((tag) => sym(tag)),
    queueNamespace: optionalAtom(spec.queueNamespace),
    placeholder: spec.placeholder ?? false,
    source: { file: 'test', entry: 0 },
  };
}

/**
 * The four workers of GitLab's worker_matcher_spec (gitlab-reference §6.1, catalog "M").
 * `name` is the generated name, i.e. namespace-prefixed.
 */
export const CATALOG_M: readonly WorkerMetadata[] = [
  workerMetadata({
    workerName: 'WorkerA',
    name: 'pipeline_processing:worker_a',
    featureCategory: 'category_a',
    hasExternalDependencies: false,
    urgency: 'low',
    resourceBoundary: 'cpu',
    tags: ['no_disk_io', 'git_access'],
    queueNamespace: 'pipeline_processing',
  }),
  workerMetadata({
    workerName: 'WorkerA2',
    name: 'pipeline_processing:worker_a2',
    featureCategory: 'category_a',
    hasExternalDependencies: false,
    urgency: 'high',
    resourceBoundary: 'none',
    tags: ['git_access'],
    queueNamespace: 'pipeline_processing',
  }),
  workerMetadata({
    workerName: 'WorkerB',
    name: 'authorized_project_update:worker_b',
    featureCategory: 'category_b',
    hasExternalDependencies: true,
    urgency: 'high',
    resourceBoundary: 'memory',
    tags: ['no_disk_io'],
    queueNamespace: 'authorized_project_update',
  }),
  workerMetadata({
    workerName: 'WorkerC',
    name: 'cronjob:worker_c',
    featureCategory: 'category_c',
    hasExternalDependencies: false,
    urgency: 'throttled',
    resourceBoundary: 'memory',
    tags: [],
    queueNamespace: 'cronjob',
  }),
];

/** The `default` placeholder exactly as CE's all_queues.yml has it: everything nil but the category. */
export const DEFAULT_PLACEHOLDER = workerMetadata({
  workerName: null,
  name: 'default',
  featureCategory: 'not_owned',
  weight: 1,
  placeholder: true,
});

/** The `mailers` placeholder: its urgency is the *String* "low", not the Symbol :low. */
export const MAILERS_PLACEHOLDER: WorkerMetadata = {
  ...workerMetadata({ workerName: 'ActionMailer::MailDeliveryJob', name: 'mailers', featureCategory: 'not_owned', weight: 2, placeholder: true }),
  urgency: 'low', // a RubyAtom that is a plain string: Ruby's "low", not :low
};

/** The router spec's subject (gitlab-reference §6.3): generated name `foo_bar`, no namespace. */
export const FOO_BAR_WORKER = workerMetadata({
  workerName: 'Gitlab::Foo::BarWorker',
  name: 'foo_bar',
  featureCategory: 'feature_a',
  hasExternalDependencies: false,
  urgency: 'low',
  resourceBoundary: 'cpu',
  tags: ['expensive'],
});

/** Class names of the workers a query selects, in catalog order. */
export const selectedNames = (workers: readonly WorkerMetadata[], matches: (w: WorkerMetadata) => boolean): (string | null)[] =>
  workers.filter(matches).map((w) => w.workerName);
