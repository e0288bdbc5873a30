import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { interferingRedis, SimulatedCrash } from './interfering-redis.js';

/**
 * `connections` whose every call, on any of them, first lets `meddle` act (Sidekiq between our
 * calls), then is cut at random about once in `every` calls (Infinity: never): stopped before it
 * reaches Redis (SimulatedCrash 'stopped before a call'), or run and its reply lost ('reply
 * lost'). `onFault` is told of each cut. The draws come from `random()`, in call order.
 */
export function randomlyCut(connections: ConnectionProvider, random: () => number, every: number, meddle: () => Promise<void>, onFault: () => void): ConnectionProvider {
  let lose = false;
  return {
    get: async (name: string): Promise<Connection> => {
      const c = await connections.get(name);
      const before = async () => {
        await meddle();
        const r = random() * every;
        if (r < 0.5) {
          onFault();
          throw new SimulatedCrash('stopped before a call');
        }
        lose = r < 1;
      };
      const after = () => {
        if (lose) {
          lose = false;
          onFault();
          throw new SimulatedCrash('reply lost');
        }
      };
      return { ...c, redis: interferingRedis(c.redis, before, after) };
    },
  };
}
