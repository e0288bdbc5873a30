import { Redis } from 'ioredis';
import { createConnection } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { InputError } from '../errors/input-error.js';
import { classifyRedisError, RedisUnavailableError, unwrapScriptError } from './redis-errors.js';
import type { RedisUrl } from './redis-url.js';
import { assertCommandsAllowed, type ConnectionUse } from './command-permissions.js';
import { connectedSlaves, noteReplicas } from './replica-wait.js';
import { infoOnceLoaded } from './info-once-loaded.js';
import { settleStrandedCommands } from './stranded-commands.js';
import { assertNotSharded } from './sharded-endpoint.js';

/** How long a command may wait for its reply by default (ConnectOptions.commandTimeoutMs). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
  /** Extra TLS options for rediss:// (a private CA, say); public CAs need none. */
  readonly tls?: ConnectionOptions;
  readonly connectTimeoutMs?: number;
  /**
   * How long a command may wait for its reply before it fails as retryable (default 30 s): a Redis
   * that hangs must not hang a Lambda until it is killed. Our writes are guarded Lua calls, so a
   * timed-out call that still runs later changes nothing a retry would not see.
   */
  readonly commandTimeoutMs?: number;
  /** How the endpoint is called in messages: "source", "target", "--redis"… */
  readonly role?: string;
  /** The password, given apart from the URL (it wins over the URL's): never shown. */
  readonly password?: string;
  /**
   * Where `password` came from, as messages name it ("the secret sidekiq/redis"): a Lambda's
   * comes from Secrets Manager, not the URL. Unset: "the password given apart from the URL".
   */
  readonly passwordFrom?: string;
  /**
   * What the connection will be used for: when given, every command that use sends is checked
   * to be allowed (ACL) before the connection is handed out (command-permissions.ts).
   */
  readonly use?: ConnectionUse;
  /** The Sidekiq key prefix the run works under (key permissions are checked under it). */
  readonly prefix?: string;
  /**
   * Told what the operator should know about a connection that still opened (a password given
   * for a server that asks for none), in words naming the endpoint without secrets. Unset: said nowhere.
   */
  readonly notice?: (message: string) => void;
}

/**
 * Opens a connection and checks, before anything is touched, that it leads somewhere we may
 * write Sidekiq data: credentials accepted, a primary (a replica would fail on the first write,
 * half-way through), not Redis Cluster (Sidekiq does not support it: multi-key scripts would fail
 * with CROSSSLOT). Replies are RESP2 Buffers/strings, as Sidekiq reads them.
 */
export async function connectRedis(url: RedisUrl, options: ConnectOptions = {}): Promise<Redis> {
  const role = options.role ?? 'Redis';
  const password = options.password ?? url.password;
  const client = new Redis({
    // A Unix socket (the local CLI only: a Lambda cannot reach one, connection-env.ts) or host and port.
    ...(url.path !== undefined ? { path: url.path } : { host: url.host, port: url.port }),
    db: url.db,
    // With a password, AUTH is sent by authenticate() below, whose refusals are ours to word:
    // ioredis's own handshake printed "[WARN] … does not require a password, but a password was
    // supplied" on the console of a server that asks for none. Without one, as before.
    ...(password === undefined ? { username: url.username } : {}),
    tls: url.tls ? { ...options.tls } : undefined,
    protocol: 2,
    lazyConnect: true,
    // ioredis's ready check (INFO, until the server has loaded its data) printed its own warning
    // on the console when the user may not run INFO; checkServer waits for the load instead.
    enableReadyCheck: false,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 2,
    // Reconnect a few times on a dropped connection, then let commands fail (retryable).
    retryStrategy: (attempt) => (attempt > 5 ? null : Math.min(attempt * 200, 2_000)),
    // After a failover (ElastiCache promotes a replica and moves the endpoint's name to it) the
    // old primary answers this connection's writes with READONLY, and would answer every retry
    // of a warm Lambda the same. Connect again, through the name: the command itself fails
    // (retryable; a refused write changed nothing) and is not sent again here, the step's retry is.
    // (Redis 6.x wraps it when a script's write meets it: unwrapped.)
    reconnectOnError: (error) => (/^READONLY\b/.test(unwrapScriptError(error.message)) ? 1 : false),
  });
  // A command in flight when the connection drops fails with the rest once reconnecting fails,
  // rather than at its timeout (an endpoint that accepts then resets never gets ready).
  settleStrandedCommands(client);
  // ioredis reports why a connection failed (WRONGPASS, a bad certificate) on its 'error' event
  // and rejects connect() with a bare "Connection is closed": keep the reason to explain it.
  let reason: unknown;
  // With a database other than 0, the SELECT's NOAUTH comes before the AUTH's own WRONGPASS: a
  // wrong password would read as none given. The AUTH's reply is the reason.
  const onError = (error: unknown) => {
    // Something other than Redis on that port (a web server) answers in another protocol: ioredis
    // reconnected and asked again for half a minute, then said "Unknown RESP type 72 "H". Please
    // report this.". No answer will ever parse: stop at once, and say what answered.
    if (NOT_RESP.test(String((error as Error)?.message))) {
      reason ??= error;
      client.disconnect();
      return;
    }
    if (reason === undefined || (/^NOAUTH/.test(String((reason as Error)?.message)) && /^WRONGPASS/.test(String((error as Error)?.message)))) reason = error;
  };
  client.on('error', onError);
  try {
    await client.connect();
    if (password !== undefined) await authenticate(client, url, password, role, options);
    const replicas = await checkServer(client, url, role, options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    // A proxy that hides its shards (Redis Enterprise) reports no cluster, but refuses our moves.
    if (options.use) await assertNotSharded(client, options.prefix ?? '', `${role} ${url.redacted}`);
    // WAIT is sent to a server with replicas only (replica-wait.ts): checked there only.
    if (options.use) await assertCommandsAllowed(client, url.username, options.use, options.prefix ?? '', `${role} ${url.redacted}`, { replicas: replicas > 0 });
    client.off('error', onError);
    // Later errors surface on the commands that hit them. But ioredis only reports a failed
    // SELECT on reconnecting, and then sends every command to database 0: the connection is
    // closed instead, so that they fail (retryably) rather than read or write another database.
    client.on('error', (error: unknown) => {
      if (url.db !== 0 && DB_REFUSED.test(String((error as Error)?.message ?? error))) client.disconnect();
    });
    return client;
  } catch (error) {
    client.disconnect();
    const cause = error instanceof InputError ? error : (reason ?? error);
    // A server that closes a connection at once says why first: read it, rather than "write EPIPE".
    if (NOT_RESP.test(String((cause as Error)?.message))) throw new InputError(`${role} ${url.redacted} does not speak Redis's protocol: ${await otherProtocolAnswer(url)}. Check the host and port. Nothing was touched.`, { cause });
    const said = closedAtOnce(cause) ? await refusalGreeting(url) : '';
    throw describeConnectError(cause, url, role, said);
  }
}

/** How a Redis before 6 (no ACL users) answers AUTH with a user name. */
const AUTH_WITHOUT_USERS = /wrong number of arguments for 'auth' command/i;

/** How Redis answers AUTH when it asks for no password: before 6, and since (the `default` user without one). */
const NO_PASSWORD_SET = /no password is set|without any password configured/i;

/**
 * Sends AUTH on the new connection; accepted, the credentials become the client's, so that each
 * reconnection (after a failover) sends them in its own handshake. A server that asks for no
 * password takes the connection without one: said once through `notice`, and the password is not
 * kept (a reconnection would only be refused it again). A refusal (WRONGPASS) is thrown as what
 * it is, before a NOAUTH the handshake's SELECT may have met first.
 */
async function authenticate(client: Redis, url: RedisUrl, password: string, role: string, options: ConnectOptions): Promise<void> {
  try {
    await (url.username === undefined ? client.auth(password) : client.auth(url.username, password));
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    // Redis before 6 has no users: it refuses AUTH with two arguments. A URL copied from newer
    // documentation (redis://default:PASSWORD@…) read as "cannot connect", exit 1.
    if (url.username !== undefined && AUTH_WITHOUT_USERS.test(message)) {
      throw new InputError(`${role} ${url.redacted}: the server takes no user name with the password (${message.replace(/^ReplyError: /, '')}: users came with Redis 6's ACL); give the password alone, as in redis://:PASSWORD@host. Nothing was touched.`, { cause: error });
    }
    if (!NO_PASSWORD_SET.test(message)) throw describeConnectError(error, url, role);
    const given = options.password === undefined ? "the URL's password" : options.passwordFrom !== undefined ? `the password of ${options.passwordFrom}` : 'the password given apart from the URL';
    options.notice?.(`${role} ${url.redacted} asks for no password, but ${given} was given: the server took the connection without it. Check that this is the Redis you meant.`);
    return;
  }
  client.options.username = url.username;
  client.options.password = password;
}

/** A connection the server closed as it opened (EPIPE or ECONNRESET on the first write). */
function closedAtOnce(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return e?.code === 'EPIPE' || e?.code === 'ECONNRESET' || /EPIPE|ECONNRESET/.test(String(e?.message ?? ''));
}

/**
 * What a Redis writes to a connection it will not serve before closing it (`-ERR max number of
 * clients reached`), read on a plain TCP connection of our own that sends nothing; '' when it says
 * nothing within half a second (a healthy server waits for a command) or speaks TLS.
 */
function refusalGreeting(url: RedisUrl): Promise<string> {
  if (url.tls) return Promise.resolve('');
  return firstLineOf(url).then((line) => /^-(.+)$/.exec(line)?.[1] ?? '');
}

/**
 * The first line an endpoint writes on a plain TCP connection of our own (after `send`, if
 * given), without its line break: what it wrote before its first line break, or before it closed
 * the connection or half a second passed; '' when it says nothing by then.
 */
function firstLineOf(url: RedisUrl, send?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection(url.path !== undefined ? { path: url.path } : { host: url.host, port: url.port }, () => send !== undefined && socket.write(send));
    let data = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data.split(/\r?\n/)[0]!);
    };
    const timer = setTimeout(done, 500);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** ioredis's reply parser meeting bytes that are no RESP reply. */
const NOT_RESP = /^Unknown RESP type\b/;

/**
 * What an endpoint that does not speak RESP answered: the first line of its reply to a PING, on a
 * plain TCP connection of our own (`it answered "HTTP/1.1 400 Bad Request" (an HTTP server?)`),
 * printable ASCII only and cut at 80 characters; over TLS, or when it says nothing within half a
 * second, only that its reply was not Redis's.
 */
function otherProtocolAnswer(url: RedisUrl): Promise<string> {
  const unknown = 'its reply is not a Redis reply';
  if (url.tls) return Promise.resolve(unknown);
  return firstLineOf(url, 'PING\r\n').then((first) => {
    const line = first.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
    if (line === '') return unknown;
    return `it answered "${line}"${/^HTTP\//.test(line) ? ' (an HTTP server?)' : ''}`;
  });
}

/** How Redis refuses a SELECT of a database it does not have. */
const DB_REFUSED = /DB index is out of range|invalid DB index|SELECT is not allowed/i;

/**
 * Which databases the server has, in words: its `databases` setting when CONFIG GET may read it,
 * else the rule (a server with 16 had /16 refused and was told it had only one database).
 */
async function databasesOf(client: Redis): Promise<string> {
  try {
    const [, value] = (await client.config('GET', 'databases')) as [string?, string?];
    const count = Number(value);
    if (Number.isInteger(count) && count > 0) return count === 1 ? 'it has only database 0' : `it has databases 0 to ${count - 1}`;
  } catch {
    // CONFIG refused (ElastiCache, an ACL user without it): the rule below says enough.
  }
  return "its databases are 0 to its `databases` setting minus one (0 to 15 by default; ElastiCache's cluster mode and Redis Enterprise have only 0)";
}

/** Checks the server; returns how many replicas it has (remembered for replica-wait.ts). */
async function checkServer(client: Redis, url: RedisUrl, role: string, maxLoadingWaitMs: number): Promise<number> {
  // ioredis selects the URL's database on connecting, but when the server refuses (a database
  // beyond its `databases`, or a server with database 0 only) it only emits an error and goes on
  // in database 0: every command would then read and write the wrong data. Asked again, and awaited.
  if (url.db !== 0) {
    try {
      await client.select(url.db);
    } catch (error) {
      const message = String((error as Error)?.message ?? error);
      if (!DB_REFUSED.test(message)) throw error;
      throw new InputError(`${role} ${url.redacted}: the server has no database ${url.db} (SELECT ${url.db}: ${message}); ${await databasesOf(client)}. Nothing was touched.`, { cause: error });
    }
  }
  const info = await infoOnceLoaded(client, `${role} ${url.redacted}`, maxLoadingWaitMs);
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  // A sentinel (GitLab's `redis_sentinels`, port 26379) answers INFO but has no data commands: the
  // permission check would report every command as missing from "this Redis".
  if (field('redis_mode') === 'sentinel') {
    throw new InputError(`${role} ${url.redacted} is a Redis Sentinel, not the Redis it watches; Sentinel is not supported: give the current primary's address (SENTINEL get-master-addr-by-name <name> on this sentinel tells it). Nothing was touched.`);
  }
  if (field('cluster_enabled') === '1') {
    throw new InputError(`${role} ${url.redacted} is a Redis Cluster endpoint; Sidekiq does not support cluster mode, so neither do we. Use a non-clustered primary.`);
  }
  if (field('role') === 'slave') {
    throw new InputError(`${role} ${url.redacted} is a read-only replica; point at the primary endpoint.`);
  }
  noteReplicas(client, info);
  return connectedSlaves(info);
}

function describeConnectError(error: unknown, url: RedisUrl, role: string, serverSaid = ''): Error {
  if (error instanceof InputError) return error;
  const message = String((error as Error)?.message ?? error);
  if (serverSaid) {
    // maxclients: every connection counts, Sidekiq's pools included; another try may find one free.
    const hint = /max number of clients/i.test(serverSaid) ? ' (its maxclients are all in use: Sidekiq processes and their connection pools count)' : '';
    return new RedisUnavailableError(`Cannot connect to ${role} ${url.redacted}: the server refused the connection: ${serverSaid}${hint}. Nothing was touched.`, { cause: error });
  }
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    return new InputError(`${role} ${url.redacted}: authentication failed (${message.replace(/^ReplyError: /, '')})`, { cause: error });
  }
  const code = (error as { code?: string })?.code ?? '';
  // A plain Redis answers the handshake's bytes ("-ERR unknown command" once they hold a line
  // break): OpenSSL's own words for that, a line of hex and a source path, say nothing of TLS.
  if (url.tls && /WRONG_VERSION_NUMBER/.test(code)) {
    return new RedisUnavailableError(`Cannot connect to ${role} ${url.redacted}: its answer to the TLS handshake is not TLS (${code})${tlsMismatchHint(url, 'wrong version number')}`, { cause: error });
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new InputError(`${role} ${url.redacted}: the server's TLS certificate was rejected (${message}); give the CA that signed it, or check the host name`, { cause: error });
  }
  if (/NOPERM/.test(message)) {
    // An ACL of `+@all -@dangerous` takes INFO away, which Sidekiq itself calls too (its version check, the Web UI).
    const command = /run the '([^']+)' command/.exec(message)?.[1];
    const why = command === 'info' ? '; Sidekiq itself calls INFO too' : '';
    const grant = command ? `: grant it (ACL SETUSER ${url.username ?? 'default'} +${command}${why})` : '';
    return new InputError(`${role} ${url.redacted}: the user lacks a permission we need (${message})${grant}. Nothing was touched.`, { cause: error });
  }
  const classified = classifyRedisError(error, `Connecting to ${role} ${url.redacted}`);
  return classified instanceof RedisUnavailableError || /connect|closed|ECONN|ETIMEDOUT|ENOTFOUND/i.test(message)
    ? new RedisUnavailableError(`Cannot connect to ${role} ${url.redacted}: ${message}${tlsMismatchHint(url, message)}`, { cause: error })
    : classified;
}

/**
 * The scheme may not match the port: a Redis that speaks TLS only resets a plain connection (a TLS
 * proxy or load balancer in front of it closes it: "Connection is closed."), and one without TLS
 * never answers a TLS handshake (the connection times out), or answers it in RESP, or hangs up
 * (ECONNRESET, EPIPE, "disconnected before secure TLS connection"). Said as a question: an
 * unreachable host gives the same errors.
 */
function tlsMismatchHint(url: RedisUrl, message: string): string {
  if (url.tls) {
    return /ETIMEDOUT|wrong version number|EPROTO|ECONNRESET|EPIPE|before secure TLS connection/i.test(message)
      ? ' (rediss:// speaks TLS: does this port? A Redis without TLS does not answer it; use redis:// there)'
      : '';
  }
  return /ECONNRESET|EPIPE|^Connection is closed/.test(message) ? ' (a Redis that accepts TLS only closes plain connections: is it one? Use rediss:// there)' : '';
}
