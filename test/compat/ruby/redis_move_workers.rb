# frozen_string_literal: true

# shard_workers.rb (MovingWorker on `default`, its runs recorded with their side) with GitLab's
# reliable fetcher, as GitLab runs it: a fetched job waits in the process's working list
# `working:queue:default:HOST:PID:NONCE` until done, and a TERM pushes what it holds back onto
# its queue. For the redis-move runbook walk (test/compat/real-sidekiq-redis-move-runbook.test.ts).

require "sidekiq-reliable-fetch"
require_relative "shard_workers"

Sidekiq.configure_server do |config|
  Sidekiq::ReliableFetch.setup_reliable_fetch!(config)
end
