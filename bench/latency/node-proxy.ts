import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DelayProxy, ProxyStats } from './proxy-stats.js';

const ENTRY = fileURLToPath(new URL('./delay-proxy.ts', import.meta.url));

/** The Node delay proxy (the fallback when no C compiler is found) in its own process, over IPC. */
export class NodeDelayProxy implements DelayProxy {
  readonly kind = 'node';

  get pid(): number {
    return this.child.pid!;
  }

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static start(targetPort: number): Promise<NodeDelayProxy> {
    const child = fork(ENTRY, [String(targetPort)], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('message', (m: { type: string; port: number }) => resolve(new NodeDelayProxy(child, m.port)));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`delay proxy exited with ${code} before listening`)));
    });
  }

  setOneWayDelay(micros: number): Promise<void> {
    return this.ask({ type: 'delay', oneWayMicros: micros }).then(() => undefined);
  }

  /** Forwarding lateness since the last call (or delay change), and the proxy's CPU time so far. */
  stats(): Promise<ProxyStats> {
    return this.ask({ type: 'stats' }) as Promise<ProxyStats>;
  }

  private ask(command: object): Promise<unknown> {
    return new Promise((resolve) => {
      this.child.once('message', resolve);
      this.child.send(command);
    });
  }

  /** Stops the proxy process by its pid. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      process.kill(this.child.pid!, 'SIGTERM');
    });
  }
}
