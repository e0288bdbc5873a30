import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageFile } from './package-file.js';

/** A throwaway redis-server on a free loopback port, owned by the test run. */
export interface RedisServerHandle {
  readonly port: number;
  readonly pid: number;
  readonly url: string;
  /** Stops the server by its pid and removes its working directory. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server is not on PATH. The tests start their own throwaway Redis servers; install one with ' +
  '`apt-get install -y redis-server` (Debian/Ubuntu, as root) or `brew install redis` (macOS), then run the tests again.';

/** Fails at once, with the way to fix it, when redis-server is not installed. */
export function assertRedisServerInstalled(env: NodeJS.ProcessEnv = process.env): void {
  const probe = spawnSync('redis-server', ['--version'], { env, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT, { cause: probe.error });
}

/**
 * Starts redis-server with no persistence on 127.0.0.1 and a free port (never 6379, which may
 * hold somebody's data). A port taken between our probe and the server's bind is retried.
 */
export async function startRedisServer(extraArgs: readonly string[] = [], options: { tls?: boolean } = {}): Promise<RedisServerHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeLoopbackPort();
    try {
      return await launch(port, extraArgs, options.tls ?? false);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error('Could not start redis-server on a free port after 5 attempts', { cause: lastError });
}

// A test CA and a certificate for localhost/127.0.0.1 (test/fixtures/tls/README.md); in a
// checkout only: the package does not ship them, and the CLI never starts a TLS server.
const TLS_DIR = packageFile('test/fixtures/tls/');
export const TEST_CA_FILE = join(TLS_DIR, 'ca.crt');

async function launch(port: number, extraArgs: readonly string[], tls: boolean): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-redis-'));
  // With TLS the only listener is the TLS one, so nothing can reach the server in plain text.
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', join(TLS_DIR, 'server.crt'), '--tls-key-file', join(TLS_DIR, 'server.key'), '--tls-ca-cert-file', TEST_CA_FILE, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const child = spawn(
    'redis-server',
    [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitUntilReady(child, port);
  const pid = child.pid!;
  let stopped: Promise<void> | undefined;
  return {
    port,
    pid,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    stop: () => (stopped ??= stopProcess(child).finally(() => rmSync(dir, { recursive: true, force: true }))),
  };
}

function waitUntilReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} was not ready within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume(); // keep draining so the server never blocks on a full pipe
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with code ${code}:\n${output}`));
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid!, 'SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

/** A port the OS says is free on 127.0.0.1, other than Redis's default 6379. */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port !== 6379 && port !== 0) return port;
  }
}
