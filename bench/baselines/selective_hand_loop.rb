# frozen_string_literal: true
# The hand loop of a shard move, as an operator writes it when some classes move to another Redis:
# for every queue, read the list, and for each job (oldest first) of a selected class LPUSH it on
# the new Redis and LREM it on the old one (from the tail, where the oldest are). Every other job
# stays. One job at a time, one round trip per command, no pipelining.
#   ruby selective_hand_loop.rb OLD_URL NEW_URL CLASSES_FILE   (a JSON list of class names)
# Prints the number of jobs moved.
require 'redis'
require 'json'
require 'set'
old = Redis.new(url: ARGV[0])
new = Redis.new(url: ARGV[1])
classes = JSON.parse(File.read(ARGV[2])).to_set
moved = 0
old.smembers('queues').each do |q|
  key = "queue:#{q}"
  old.lrange(key, 0, -1).reverse_each do |job|
    payload = JSON.parse(job)
    next unless classes.include?(payload['wrapped'] || payload['class'])

    new.lpush(key, job)
    new.sadd('queues', q)
    moved += 1 if old.lrem(key, -1, job) == 1
  end
end
puts moved
