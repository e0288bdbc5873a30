/** What a delay proxy reports about itself. */
export interface ProxyStats {
  readonly chunks: number;
  /** How late chunks were forwarded after their deadline, µs. */
  readonly latenessMicros: { readonly p50: number; readonly p99: number; readonly max: number };
  /** The proxy process's CPU time so far, µs. */
  readonly cpu: { readonly user: number; readonly system: number };
}

/** A delay proxy in front of Redis, whichever implementation runs it. */
export interface DelayProxy {
  readonly port: number;
  /** The proxy's process id (the baselines part sets its CPU affinity when it pins). */
  readonly pid: number;
  /** Which implementation: the C one (timerfd, no spinning) or the Node fallback (spins). */
  readonly kind: 'native' | 'node';
  setOneWayDelay(micros: number): Promise<void>;
  /** Forwarding lateness since the last call (or delay change), and CPU time so far. */
  stats(): Promise<ProxyStats>;
  /** Stops the proxy process by its pid. */
  stop(): Promise<void>;
}
