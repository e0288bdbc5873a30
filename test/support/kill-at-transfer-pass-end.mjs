// Preloaded (`node --import`) into a CLI run from the TypeScript sources (SIDEKIQ_MIGRATE_FROM_SOURCE=1,
// whose ioredis is node_modules'): SIGKILLs the process as it is about to send the `DEL` that ends
// a transfer's queue pass (queue-transfer.ts endPass, selective-queue-transfer.ts finish: the pass's
// count of originals, `<run>:originals:queue:NAME`), i.e. after the pass's last acknowledge ran.
// The re-route's pass end is another call (kill-at-pass-end.mjs). A kill at random instants
// reaches this gap rarely; this reaches it every time.
import { Redis } from 'ioredis';

const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (command && /^del$/i.test(command.name) && command.args.length === 1) {
    const key = Buffer.isBuffer(command.args[0]) ? command.args[0].toString('latin1') : String(command.args[0]);
    if (key.includes(':originals:queue:')) {
      process.stderr.write(`kill-at-transfer-pass-end: SIGKILL before deleting ${key}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
  return send.call(this, command, ...rest);
};
