# frozen_string_literal: true

# reliable_fetch_workers.rb (GitLab's reliable fetcher) plus LongJob (long_job.rb): a graceful
# restart (TERM) before the test opens the gate interrupts it, and the fetcher's bulk_requeue then
# LPUSHes it back onto the queue it was fetched from, its payload re-serialised by Sidekiq with
# `interrupted_count` added. For test/compat/real-sidekiq-reliable-restart.test.ts.

require_relative "reliable_fetch_workers"
require_relative "long_job"
