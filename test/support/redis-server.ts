// The tests start throwaway servers with the same code as `sidekiq-migrate demo`.
export * from '../../cli/support/redis-server-process.js';
