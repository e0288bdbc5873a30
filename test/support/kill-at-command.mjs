// Preloaded (`node --import`) into a CLI run from the TypeScript sources (SIDEKIQ_MIGRATE_FROM_SOURCE=1,
// whose ioredis is node_modules'): SIGKILLs the process as it is about to send the first command
// whose name matches KILL_AT_COMMAND (a regular expression, case-insensitive) and each of whose
// regular expressions in KILL_AT_ARGS (separated by a space) matches one of its arguments (an
// EVALSHA's are its SHA, key count, keys and ARGV); with KILL_AT_NTH=N, the N-th such command. A precise instant between two round trips,
// which a kill at random instants reaches rarely; kill-at-pass-end.mjs and
// kill-at-transfer-pass-end.mjs are two fixed cases of it.
import { Redis } from 'ioredis';

const name = new RegExp(process.env.KILL_AT_COMMAND ?? '^$', 'i');
const wanted = (process.env.KILL_AT_ARGS ?? '').split(' ').filter(Boolean).map((re) => new RegExp(re));
const nth = Number(process.env.KILL_AT_NTH ?? '1');
let seen = 0;
const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (command && name.test(command.name)) {
    const args = (command.args ?? []).map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
    if (wanted.every((re) => args.some((a) => re.test(a))) && ++seen === nth) {
      process.stderr.write(`kill-at-command: SIGKILL before ${command.name} ${args.filter((a) => wanted.some((re) => re.test(a))).join(' ')}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
  return send.call(this, command, ...rest);
};
