// Preloaded (`node --import`) into a CLI run from the TypeScript sources (SIDEKIQ_MIGRATE_FROM_SOURCE=1,
// whose ioredis is node_modules'): SIGKILLs the process as it is about to send the first call that
// ends a queue's re-route pass (endQueuePass-5.lua: KEYS originals:queue:…, page-receipts, the
// queue), i.e. after the pass's last moving call ran. A kill at random instants reaches that gap
// about once in 30 runs; this reaches it every time.
import { Redis } from 'ioredis';

const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (command && /^evalsha$/i.test(command.name)) {
    const args = command.args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
    if (args[1] === '3' && args[2]?.includes(':originals:queue:') && args[3]?.endsWith(':page-receipts')) {
      process.stderr.write(`kill-at-pass-end: SIGKILL before ending the pass of ${args[2]}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
  return send.call(this, command, ...rest);
};
