# frozen_string_literal: true

# Retries dead jobs through Sidekiq's own API, as the Web UI's "Retry Now" does:
# DeadSet#find_job(jid).retry removes the entry and pushes the payload (with
# retry_count decremented) onto queue:<the payload's queue>.
#
#   REDIS_URL=... [HARNESS_NAMESPACE=ns] ruby dead_retry.rb JID...

require_relative "workers"

abort "usage: ruby dead_retry.rb JID..." if ARGV.empty?
dead = Sidekiq::DeadSet.new
ARGV.each do |jid|
  entry = dead.find_job(jid) or abort "dead job #{jid} not found"
  entry.retry
end
