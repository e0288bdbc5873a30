/**
 * The name of GitLab's default Sidekiq Redis (`Gitlab::Redis::Queues`): where the jobs of a class
 * whose first matching rule names no store (or that no rule matches) live.
 */
export const MAIN_STORE = 'main';
