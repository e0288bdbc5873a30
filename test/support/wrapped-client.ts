import type { Redis } from 'ioredis';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';

/**
 * `provider` whose connection `name` (e.g. `source`) hands out `wrap(client)` instead of its client
 * (a fault, a pause, a restart around some of its calls); every other connection as it is.
 */
export function withWrappedClient(provider: ConnectionProvider, name: string, wrap: (client: Redis) => Redis): ConnectionProvider {
  return {
    ...provider,
    get: async (wanted: string): Promise<Connection> => {
      const c = await provider.get(wanted);
      return wanted === name ? { ...c, redis: wrap(c.redis) } : c;
    },
  };
}
