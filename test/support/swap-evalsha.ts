import { Command } from 'ioredis';
import { EncodedCommand } from '../../core/redis/encoded-command.js';

/**
 * Hooks every EVALSHA a pipeline queues, however it is sent: by ioredis (`evalshaBuffer`, which
 * ends in `sendCommand`) or written by a LuaScript with `encodeCalls` (an EncodedCommand handed to
 * `sendCommand`). `swap(sha)` names the script to run instead, with the same keys and arguments
 * (e.g. one that replies with an error, as Redis does out of memory); `queued()` runs right after
 * the call is queued (to queue another client's commands after it).
 */
export function swapEvalsha(pipeline: unknown, swap: (sha: string) => string, queued: () => void = () => {}): void {
  const hooked = pipeline as { sendCommand(command: Command): unknown };
  const send = hooked.sendCommand.bind(hooked);
  hooked.sendCommand = (command: Command) => {
    if (command.name !== 'evalsha') return send(command);
    const sha = String(command.args[0]);
    const instead = swap(sha);
    if (instead !== sha) {
      // The SHA is the same length: rewritten in place, in the bytes an EncodedCommand will write.
      if (command instanceof EncodedCommand) {
        const bytes = command.encoded;
        bytes.write(instead, bytes.indexOf(sha, 0, 'latin1'), 'latin1');
      }
      command.args[0] = instead;
    }
    const reply = send(command);
    queued();
    return reply;
  };
}
