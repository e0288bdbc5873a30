import { buildNativeProxy, NativeDelayProxy } from './native-proxy.js';
import { NodeDelayProxy } from './node-proxy.js';
import type { DelayProxy } from './proxy-stats.js';

/**
 * The C proxy when a C compiler is available (no spinning: both cores stay with Redis and the
 * runner), otherwise the Node one, which spins on one core while data is in flight and is
 * therefore less faithful on a 2-core machine. The report says which one ran.
 */
export async function startDelayProxy(targetPort: number, log: (line: string) => void): Promise<DelayProxy> {
  const binary = buildNativeProxy();
  if (binary) return NativeDelayProxy.start(binary, targetPort);
  log('no C compiler (cc) found: using the Node delay proxy, which spins a core while data is in flight');
  return NodeDelayProxy.start(targetPort);
}
