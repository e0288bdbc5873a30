import { rootCertificates } from 'node:tls';
import { readInputFile } from '../../core/config/read-input-file.js';
import type { ConnectionUse } from '../../core/redis/command-permissions.js';
import type { ConnectOptions } from '../../core/redis/connect-redis.js';

export interface SideSecrets {
  readonly password?: string | undefined;
  /** CA files (PEM) to trust for this side, besides Node's own roots. */
  readonly caFiles: readonly (string | undefined)[];
}

/**
 * How the CLI connects to one Redis: the password given apart from the URL, and the CAs to trust
 * — Node's default roots plus the files given, so that a private-CA source (Redis Enterprise) and
 * a public-CA target (ElastiCache) are both trusted without a hand-made bundle — and the commands
 * the run will send checked before anything is touched.
 */
export function connectOptions(side: SideSecrets, use: ConnectionUse, warn?: (text: string) => void): ConnectOptions {
  const files = side.caFiles.filter((f): f is string => f !== undefined);
  const ca = files.length === 0 ? undefined : [...rootCertificates, ...files.map((f) => readInputFile(f, 'CA certificate file'))];
  return { use, ...(side.password !== undefined ? { password: side.password } : {}), ...(ca ? { tls: { ca } } : {}), ...(warn ? { notice: onceEach(warn) } : {}) };
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
