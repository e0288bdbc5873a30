import type { DelayProxy } from './proxy-stats.js';
import { pingRtt, type RttSample } from './ping-rtt.js';

export interface LatencyCalibration {
  readonly targetAddedMicros: number;
  /** The one-way delay the proxy was finally set to. */
  readonly oneWayMicros: number;
  readonly direct: RttSample;
  readonly viaProxy: RttSample;
  /** Median round trip through the proxy minus median direct: what the delayed runs pay. */
  readonly addedMicros: number;
}

/**
 * Sets the proxy's delay so that the round trip it adds (its own forwarding overhead included)
 * is `targetAddedMicros`: starts at half the target each way and corrects twice from PING
 * measurements, then reports the measured figures rather than the setting.
 */
export async function calibrateProxy(proxy: DelayProxy, redisPort: number, targetAddedMicros: number): Promise<LatencyCalibration> {
  const direct = await pingRtt(redisPort);
  let oneWay = targetAddedMicros / 2;
  let viaProxy: RttSample = direct;
  for (let round = 0; round < 3; round++) {
    await proxy.setOneWayDelay(oneWay);
    viaProxy = await pingRtt(proxy.port);
    const added = viaProxy.medianMicros - direct.medianMicros;
    if (Math.abs(added - targetAddedMicros) < 10 || round === 2) break;
    oneWay = Math.max(0, oneWay + (targetAddedMicros - added) / 2);
  }
  return { targetAddedMicros, oneWayMicros: oneWay, direct, viaProxy, addedMicros: viaProxy.medianMicros - direct.medianMicros };
}
