import { rootCertificates } from 'node:tls';
import { InputError } from '../../core/errors/input-error.js';
import { caCertificatesProblem, TEXT_BEFORE_BEGIN } from '../../core/config/ca-certificates.js';
import { readInputFile } from '../../core/config/read-input-file.js';
import { redactRedisUrl } from '../../core/redis/redis-url.js';
import type { ConnectionUse } from '../../core/redis/command-permissions.js';
import type { ConnectOptions } from '../../core/redis/connect-redis.js';

export interface SideSecrets {
  readonly password?: string | undefined;
  /** CA files (PEM) to trust for this side, besides Node's own roots. */
  readonly caFiles: readonly (string | CaFileOf | undefined)[];
}

/**
 * A CA file the user did not type but a file named (a redis.yml entry's ssl_params ca_file):
 * `where` says which, since a refusal naming the path alone left the user looking for it.
 */
export interface CaFileOf {
  readonly path: string;
  readonly where: string;
}

/**
 * How the CLI connects to one Redis: the password given apart from the URL, and the CAs to trust
 * — Node's default roots plus the files given, so that a private-CA source (Redis Enterprise) and
 * a public-CA target (ElastiCache) are both trusted without a hand-made bundle — and the commands
 * the run will send checked before anything is touched.
 */
export function connectOptions(side: SideSecrets, use: ConnectionUse, warn?: (text: string) => void): ConnectOptions {
  const files = side.caFiles.filter((f): f is string | CaFileOf => f !== undefined);
  const ca = files.length === 0 ? undefined : [...rootCertificates, ...files.map((f) => (typeof f === 'string' ? readCaFile(f) : readCaFileOf(f)))];
  return { use, ...(side.password !== undefined ? { password: side.password } : {}), ...(ca ? { tls: { ca } } : {}), ...(warn ? { notice: onceEach(warn) } : {}) };
}

/**
 * A CA option given (`file`) for connections of which none speaks TLS (every one of `urls` is
 * redis://, or a Unix socket): refused before anything connects. It was ignored, and the run went ahead in the clear,
 * its password too, while the user believed it encrypted. A URL that is not plainly redis:// is
 * left to its own check (a typo in the scheme is said as one there).
 */
export function refuseCaWithoutTls(option: string, file: string | undefined, urls: readonly (string | undefined)[]): void {
  const given = urls.filter((u): u is string => u !== undefined);
  // A Unix socket (unix:///path, GitLab's unix:/path) never speaks TLS either: its CA was ignored too.
  const socket = (u: string) => /^\s*unix:/i.test(u);
  if (file === undefined || given.length === 0 || !given.every((u) => /^\s*redis:\/\//i.test(u) || socket(u))) return;
  const [one, two] = given.map((u) => redactRedisUrl(u.trim()));
  if (two === undefined && socket(given[0]!)) throw new InputError(`${option} ${file}: ${one} is a Unix socket, which does not use TLS, so no CA is used: leave ${option} out`);
  const kinds = given.some(socket) ? 'redis:// or a Unix socket' : 'redis://';
  const why = two === undefined ? `${one} does not use TLS (redis://), so no CA is used: give its rediss:// URL` : `neither ${one} nor ${two} uses TLS (${kinds}), so no CA is used: give their rediss:// URLs`;
  throw new InputError(`${option} ${file}: ${why}, or leave ${option} out`);
}

const IN_PEM = "give the CA's certificate(s) in PEM form, as in a .crt or .pem file";

/**
 * A CA file's text, refused unless it holds certificates, each readable. Node takes any text as a
 * CA and trusts nothing of one without a certificate: a file mixed up (the server's key, an empty
 * file) met the server as "its TLS certificate was rejected", sending the user to the server
 * instead of the file; a damaged certificate beside good ones was left out without a word.
 */
export function readCaFile(path: string): string {
  const text = readInputFile(path, 'CA certificate file');
  // The deployment's tlsCaFile is checked the same (infra/constructs/redis-endpoint.ts).
  const problem = caCertificatesProblem(text);
  if (problem && 'none' in problem) throw new InputError(`The CA certificate file ${path} holds no certificate (no -----BEGIN CERTIFICATE----- block): ${IN_PEM}`);
  if (problem && 'textBefore' in problem) throw new InputError(`The CA certificate file ${path}: certificate ${problem.textBefore} of the file ${TEXT_BEFORE_BEGIN}`);
  if (problem) throw new InputError(`The CA certificate file ${path}: certificate ${problem.unreadable} of the file is not readable: ${IN_PEM}`);
  return text;
}

/** readCaFile of a file another file named, its refusal saying where the path came from. */
function readCaFileOf(file: CaFileOf): string {
  try {
    return readCaFile(file.path);
  } catch (error) {
    if (error instanceof InputError && error.where === undefined) error.where = file.where;
    throw error;
  }
}

/** A connection's notices as warning lines, each said once however often the connection is opened again. */
function onceEach(warn: (text: string) => void): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    warn(`warning: ${message}\n`);
  };
}
