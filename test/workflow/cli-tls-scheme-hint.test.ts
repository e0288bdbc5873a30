import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

// A URL whose scheme does not match the port gets a hint naming the other scheme (connect-redis.ts).
// It was missing where the endpoint answered rather than stayed silent: rediss:// to a plain Redis
// that replies to the handshake's bytes (Redis answers "-ERR unknown command" once they hold a line
// break) said "Connecting to …: 80…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…",
// OpenSSL's words alone, exit 2; to a plain endpoint that hangs up (a proxy), "Client network socket
// disconnected before secure TLS connection was established"; and redis:// to a TLS endpoint that
// closes the connection (stunnel, a TLS load balancer) "Connection is closed.". None said TLS.
function endpoint(onData: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.once('data', () => onData(socket)));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server })));
}

const endpoints: Server[] = [];
let answersInRedis: number;
let hangsUp: number;
beforeAll(async () => {
  const answers = await endpoint((s) => s.write('-ERR unknown command \'\\x16\\x03\\x01\', with args beginning with: \r\n'));
  const closes = await endpoint((s) => s.end());
  endpoints.push(answers.server, closes.server);
  answersInRedis = answers.port;
  hangsUp = closes.port;
});
afterAll(async () => {
  await Promise.all(endpoints.map((s) => new Promise((resolve) => s.close(resolve))));
});

const TLS_TO_PLAIN = '(rediss:// speaks TLS: does this port? A Redis without TLS does not answer it; use redis:// there)';
const PLAIN_TO_TLS = '(a Redis that accepts TLS only closes plain connections: is it one? Use rediss:// there)';

describe('a scheme that does not match the port, where the endpoint answers or hangs up', { timeout: 60_000 }, () => {
  it('rediss:// to a plain Redis that answers the handshake: its answer is not TLS, said with the hint; exit 1, nothing on stdout', async () => {
    const result = await runCli('drain-check', '--redis', `rediss://127.0.0.1:${answersInRedis}`);

    expect(result.stderr).toBe(`Cannot connect to Redis rediss://127.0.0.1:${answersInRedis}: its answer to the TLS handshake is not TLS (ERR_SSL_WRONG_VERSION_NUMBER) ${TLS_TO_PLAIN}\n`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it('rediss:// to a plain endpoint that hangs up: the hint', async () => {
    const result = await runCli('drain-check', '--redis', `rediss://127.0.0.1:${hangsUp}`);

    expect(result.stderr).toBe(`Cannot connect to Redis rediss://127.0.0.1:${hangsUp}: Client network socket disconnected before secure TLS connection was established ${TLS_TO_PLAIN}\n`);
    expect(result.code).toBe(1);
  });

  it('redis:// to a TLS endpoint that closes a plain connection: the hint', async () => {
    const result = await runCli('move', '--from', `redis://127.0.0.1:${hangsUp}`, '--to', 'redis://127.0.0.1:1', '--rename', 'a=b');

    expect(result.stderr).toBe(`Cannot connect to source redis://127.0.0.1:${hangsUp}: Connection is closed. ${PLAIN_TO_TLS}\n`);
    expect(result.code).toBe(1);
  });
});
