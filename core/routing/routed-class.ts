/**
 * The class names under which ActiveJob hands jobs to Sidekiq. Such a job's `class` is the
 * wrapper; the class that routing is about is in `wrapped`.
 */
export const ACTIVE_JOB_WRAPPERS: ReadonlySet<string> = new Set([
  'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper', // Rails' own adapter (and Sidekiq 7.3.3+)
  'Sidekiq::ActiveJob::Wrapper', // Sidekiq 8
]);

/** The class a job is routed by: `wrapped` for an ActiveJob wrapper that names one, else `class`. */
export function routedClass(className: string, wrapped: string | null | undefined): string {
  return ACTIVE_JOB_WRAPPERS.has(className) && typeof wrapped === 'string' && wrapped !== '' ? wrapped : className;
}
