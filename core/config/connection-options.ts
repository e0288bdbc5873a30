import { z } from 'zod';

/**
 * Credentials and trust given apart from the URLs: a password holding `#`, `%`, `?` or `@` (legal
 * in ElastiCache AUTH tokens) cannot be written into a URL without percent-encoding, which
 * `${VAR}` substitution does not do. A URL holding another password than the one given here is
 * refused (cli/workflow/password-twice.ts): ioredis takes the URL's, redis-cli the last given.
 */
const password = z.string({ error: 'the password' }).min(1, 'the password, not empty');
const caFile = z.string().min(1, 'a PEM file of CA certificates, not empty');

/** `--password`, `--tls-ca`: the one Redis of `run`, `rollback`, `drain-check`; both ends of `move`. */
export const connectionOptionFields = {
  password: password.optional(),
  tlsCa: caFile.optional(),
};

/** `move`'s per-side options: they win over the shared ones for their side; CAs add up. */
export const transferConnectionFields = {
  fromPassword: password.optional(),
  toPassword: password.optional(),
  fromTlsCa: caFile.optional(),
  toTlsCa: caFile.optional(),
};
