import type { Command, Option } from 'commander';
import { collect } from './collect.js';
import { InputError } from '../core/errors/input-error.js';
import { redactSecrets, urlCredentials } from '../core/config/redact-secrets.js';

/**
 * Commander lets a later `--redis B` replace an earlier `--redis A` without a word: a command
 * pasted with two --redis would work on a server the user did not mean. Every option given on the
 * command line is recorded as it is parsed (Commander's `option:NAME` events), so that two
 * different values for one setting (`--redis A --redis B`, `--queues --no-queues`) can be refused
 * before anything is touched. Options that collect their values (--catalog, --rename) repeat by
 * design; the same value given twice says nothing new and is let through.
 */
type Given = { readonly flag: string; readonly value: unknown; readonly secret: boolean };
const seen = new WeakMap<Command, Map<string, Given[]>>();

export function recordGivenOptions(command: Command): void {
  const given = new Map<string, Given[]>();
  seen.set(command, given);
  for (const option of command.options as Option[]) {
    if (option.parseArg === collect || option.variadic) continue;
    const flag = option.long ?? option.flags;
    const secret = /password/i.test(flag);
    command.on(`option:${option.name()}`, (value: unknown) => {
      const key = option.attributeName();
      given.set(key, [...(given.get(key) ?? []), { flag, value, secret }]);
    });
  }
}

/** One message for the first setting given twice with different values, as the options' order has it. */
export function refuseRepeatedOptions(command: Command): void {
  for (const occurrences of seen.get(command)?.values() ?? []) {
    const [first, ...rest] = occurrences;
    const other = rest.find((o) => o.flag !== first?.flag || o.value !== first.value);
    if (!first || !other) continue;
    const unclear = 'which one is meant is not clear';
    if (first.flag !== other.flag) {
      throw new InputError(`${first.flag} and ${other.flag}: both given: ${unclear}. Give one of them. Nothing was touched.`);
    }
    if (first.secret) {
      throw new InputError(`${first.flag}: given twice, with two different values (not shown: a password): ${unclear}. Give it once. Nothing was touched.`);
    }
    const values = [first.value, other.value].map(String);
    const text = `${first.flag}: given twice, ${values.join(' and ')}: ${unclear}. Give it once. Nothing was touched.`;
    throw new InputError(redactSecrets(text, values.flatMap(urlCredentials)));
  }
}
