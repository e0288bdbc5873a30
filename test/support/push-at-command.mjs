// Preloaded (`node --import`) into a CLI run from the TypeScript sources (SIDEKIQ_MIGRATE_FROM_SOURCE=1,
// whose ioredis is node_modules'): before the first command whose name matches PUSH_AT_COMMAND (a
// regular expression, case-insensitive) and each of whose regular expressions in PUSH_AT_ARGS
// (separated by a space) matches one of its arguments, another client LPUSHes PUSH_PAYLOAD to
// PUSH_KEY (and SADDs PUSH_QUEUE to PUSH_QUEUES_KEY) on the same server, and only once that is
// done is the command sent: a producer's push at a precise instant between two round trips.
// PUSH_HSET (JSON [key, field, value]), when set, is HSET in the same MULTI: a definition saved
// at that instant too (e.g. a sidekiq-cron definition re-pointed just after its poller pushed).
import { Redis } from 'ioredis';

const name = new RegExp(process.env.PUSH_AT_COMMAND ?? '^$', 'i');
const wanted = (process.env.PUSH_AT_ARGS ?? '').split(' ').filter(Boolean).map((re) => new RegExp(re));
let pushed = false;
const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (!pushed && command && name.test(command.name)) {
    const args = (command.args ?? []).map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
    if (wanted.every((re) => args.some((a) => re.test(a)))) {
      pushed = true;
      const producer = new Redis(process.env.PUSH_URL);
      const hset = process.env.PUSH_HSET ? JSON.parse(process.env.PUSH_HSET) : undefined;
      const multi = producer.multi().sadd(process.env.PUSH_QUEUES_KEY, process.env.PUSH_QUEUE).lpush(process.env.PUSH_KEY, process.env.PUSH_PAYLOAD);
      if (hset) multi.hset(hset[0], hset[1], hset[2]);
      const push = multi
        .exec()
        .finally(() => producer.quit());
      process.stderr.write(`push-at-command: pushed to ${process.env.PUSH_KEY} before ${command.name} ${args.join(' ')}\n`);
      return push.then(() => send.call(this, command, ...rest));
    }
  }
  return send.call(this, command, ...rest);
};
