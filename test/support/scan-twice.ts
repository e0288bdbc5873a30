import type { Redis } from 'ioredis';

/**
 * A connection whose every SCAN page names each of its keys twice: what Redis's SCAN guarantee
 * allows (a key may come more than once while the server rehashes), made to happen every time.
 */
export function scanTwice(redis: Redis): Redis {
  return new Proxy(redis, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'scanBuffer') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        const [cursor, keys] = (await (value as (...a: unknown[]) => Promise<[Buffer, Buffer[]]>).apply(target, args)) as [Buffer, Buffer[]];
        return [cursor, [...keys, ...keys]];
      };
    },
  });
}
