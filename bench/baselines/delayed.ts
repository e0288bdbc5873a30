import { calibrateProxy, type LatencyCalibration } from '../latency/calibrate.js';
import { pingRtt } from '../latency/ping-rtt.js';
import type { DelayProxy, ProxyStats } from '../latency/proxy-stats.js';
import { startDelayProxy } from '../latency/start-proxy.js';
import { ADDED_RTT_MICROS } from './config.js';
import type { Pinning } from './pinning.js';

/** How the 0.5 ms rows' network was made and how faithfully it behaved. */
export interface DelayReport {
  readonly proxy: DelayProxy['kind'];
  /** One per server, in the order given. */
  readonly calibrations: readonly LatencyCalibration[];
  /** What each proxy added after the delayed runs (PING through it − direct, medians). */
  readonly addedAfterMicros: readonly number[];
  /** How late each proxy forwarded chunks versus their deadline, over all the delayed runs. */
  readonly lateness: readonly ProxyStats[];
}

/**
 * Runs `run` with one delay proxy in front of each Redis server (`ports`), each calibrated to add
 * ADDED_RTT_MICROS of round trip, as the transfer part does: every connection a command opens
 * through the URLs it is given pays the delay; seeding and verification keep using the servers
 * directly. The proxies are stopped afterwards.
 */
export async function withDelayProxies<T>(ports: readonly number[], pin: Pinning, log: (line: string) => void, run: (urls: readonly string[]) => Promise<T>): Promise<{ result: T; latency: DelayReport }> {
  const proxies: DelayProxy[] = [];
  try {
    for (const port of ports) {
      const proxy = await startDelayProxy(port, log);
      proxies.push(proxy);
      pin.network(proxy.pid);
    }
    log(`baselines: calibrating ${proxies.length} delay prox${proxies.length === 1 ? 'y' : 'ies'} to +${ADDED_RTT_MICROS} µs round trip`);
    const calibrations: LatencyCalibration[] = [];
    for (const [i, proxy] of proxies.entries()) calibrations.push(await calibrateProxy(proxy, ports[i]!, ADDED_RTT_MICROS));
    log(`baselines: proxies add ${calibrations.map((c) => `${c.addedMicros.toFixed(0)} µs`).join(', ')}`);
    for (const proxy of proxies) await proxy.stats(); // forget the calibration's chunks
    const result = await run(proxies.map((p) => `redis://127.0.0.1:${p.port}`));
    const lateness: ProxyStats[] = [];
    for (const proxy of proxies) lateness.push(await proxy.stats());
    const addedAfterMicros: number[] = [];
    for (const [i, proxy] of proxies.entries()) addedAfterMicros.push((await pingRtt(proxy.port)).medianMicros - (await pingRtt(ports[i]!)).medianMicros);
    return { result, latency: { proxy: proxies[0]!.kind, calibrations, addedAfterMicros, lateness } };
  } finally {
    for (const proxy of proxies) await proxy.stop();
  }
}

/** Lines for the table: the proxies, then per server how much it added before and after the runs and how late it forwarded. */
export function describeDelay(d: DelayReport, names: readonly string[]): string[] {
  const kind = d.proxy === 'native' ? 'C delay proxy (epoll + timerfd)' : 'Node delay proxy (fallback, spins a core while data is in flight)';
  return [
    `  network: a ${kind} in front of each server, calibrated to +${ADDED_RTT_MICROS} µs round trip (PING medians, direct → through the proxy)`,
    ...d.calibrations.map((c, i) => {
      const late = d.lateness[i]!.latenessMicros;
      // The C proxy's lateness histogram ends at 100 ms: a max there means "at least".
      const max = `${d.proxy === 'native' && late.max >= 100_000 ? '≥ ' : ''}${late.max.toFixed(0)}`;
      return (
        `    ${names[i]}: adds ${c.addedMicros.toFixed(0)} µs (${c.direct.medianMicros.toFixed(0)} → ${c.viaProxy.medianMicros.toFixed(0)} µs), ${d.addedAfterMicros[i]!.toFixed(0)} µs after the runs; ` +
        `forwarded late p50 ${late.p50.toFixed(0)} / p99 ${late.p99.toFixed(0)} / max ${max} µs over ${d.lateness[i]!.chunks.toLocaleString('en')} chunks`
      );
    }),
  ];
}
