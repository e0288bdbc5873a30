import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DelayProxy, ProxyStats } from './proxy-stats.js';

const SOURCE = fileURLToPath(new URL('./delay-proxy.c', import.meta.url));

/**
 * Compiles delay-proxy.c (once per source version, into the temp directory) with the system's C
 * compiler. Returns the binary's path, or null when there is no compiler.
 */
export function buildNativeProxy(): string | null {
  const source = readFileSync(SOURCE);
  const binary = join(tmpdir(), `sidekiq-migrate-bench-delay-proxy-${createHash('sha1').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(binary)) return binary;
  const cc = spawnSync('cc', ['-O2', '-o', binary, SOURCE], { encoding: 'utf8' });
  return cc.status === 0 ? binary : null;
}

/** The C delay proxy as a child process, driven by line commands on its stdin. */
export class NativeDelayProxy implements DelayProxy {
  readonly kind = 'native';
  private readonly replies: ((line: string) => void)[] = [];

  get pid(): number {
    return this.child.pid!;
  }

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    lines: AsyncIterableIterator<string>,
  ) {
    void (async () => {
      for await (const line of lines) this.replies.shift()?.(line);
    })();
  }

  static async start(binary: string, targetPort: number): Promise<NativeDelayProxy> {
    const child = spawn(binary, [String(targetPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    const port = /^port (\d+)$/.exec(String(first.value ?? ''))?.[1];
    if (first.done || !port) throw new Error(`delay proxy did not start: ${String(first.value)}`);
    return new NativeDelayProxy(child, Number(port), lines);
  }

  async setOneWayDelay(micros: number): Promise<void> {
    await this.ask(`delay ${Math.round(micros)}`);
  }

  async stats(): Promise<ProxyStats> {
    return JSON.parse(await this.ask('stats')) as ProxyStats;
  }

  private ask(command: string): Promise<string> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin!.write(`${command}\n`);
    });
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      process.kill(this.child.pid!, 'SIGTERM');
    });
  }
}
