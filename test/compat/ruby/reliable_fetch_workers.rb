# frozen_string_literal: true

# workers.rb with GitLab's reliable fetcher (Debian's ruby-gitlab-sidekiq-fetcher, the gem GitLab
# runs): a fetched job waits in the process's working list `working:queue:NAME:HOST:PID:NONCE`
# until it is done, and the process beats `reliable-fetcher-heartbeat-HOST-PID-NONCE` (TTL 60 s).
# For the drain-check compatibility test (test/compat/real-sidekiq-reliable-fetch.test.ts).
#
# Environment (besides workers.rb's):
#   HARNESS_SEMI_RELIABLE  "1": the semi-reliable strategy (BRPOP, then LPUSH to the working list)

require "sidekiq-reliable-fetch"
require_relative "workers"

Sidekiq.configure_server do |config|
  Sidekiq.options[:semi_reliable_fetch] = ENV["HARNESS_SEMI_RELIABLE"] == "1"
  Sidekiq::ReliableFetch.setup_reliable_fetch!(config)
end
