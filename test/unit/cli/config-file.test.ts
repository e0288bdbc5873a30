import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../core/config/config-error.js';
import { validateConfig } from '../../../core/config/validate-config.js';
import { readConfigFile } from '../../../core/config/read-config-file.js';
import { loadCliConfig } from '../../../cli/config/load-cli-config.js';
import { optionsWithConfig } from '../../../cli/config/options-with-config.js';
import { addMigrationOptions } from '../../../cli/commands/run-options.js';
import { SORTED_SET_NAMES } from '../../../core/redis/sidekiq-keys.js';
import { repoPath } from '../../support/paths.js';

let dirs = 0;
/** A fresh directory holding the given files. */
function directory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `config-file-${dirs++}-`));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** The problems a file is refused with (it must be refused). */
function problemsOf(name: string, text: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  const dir = directory({ [name]: text });
  try {
    readConfigFile(join(dir, name), name, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the file was accepted');
}

const EVERY_KEY = `
redis: redis://:pw@cache:6379/2
from: redis://old:6379
to: rediss://new:6380
namespace: "resque:gitlab:"
toNamespace: "gitlab:"
tlsCa: certs/ca.pem
sets: [schedule, retry]
queues: false
pageSize: 500
rateLimit: 200
fromReplicas: 1
toReplicas: 2
unmapped: quarantine
append: true
strict: true
timeLimit: 600
routing:
  catalog: [all_queues.yml, /abs/ee_all_queues.yml]
  rules: ../gitlab.yml
  environment: staging
aws:
  region: eu-west-1
  stack: SidekiqMigrate-prod
  stateMachine: arn:aws:states:eu-west-1:123456789012:stateMachine:m
`;

describe('the configuration file', () => {
  it('accepts every key, resolving relative paths against its own directory', () => {
    const dir = directory({ 'sub/sidekiq-migrate.config.yaml': EVERY_KEY });

    const config = readConfigFile(join(dir, 'sub/sidekiq-migrate.config.yaml'), 'x', {});

    expect(config).toEqual({
      redis: 'redis://:pw@cache:6379/2',
      from: 'redis://old:6379',
      to: 'rediss://new:6380',
      namespace: 'resque:gitlab:',
      toNamespace: 'gitlab:',
      tlsCa: join(dir, 'sub/certs/ca.pem'),
      sets: ['schedule', 'retry'],
      queues: false,
      pageSize: 500,
      rateLimit: 200,
      fromReplicas: 1,
      toReplicas: 2,
      unmapped: 'quarantine',
      append: true,
      strict: true,
      timeLimit: 600,
      routing: { catalog: [join(dir, 'sub/all_queues.yml'), '/abs/ee_all_queues.yml'], rules: join(dir, 'gitlab.yml'), environment: 'staging' },
      aws: { region: 'eu-west-1', stack: 'SidekiqMigrate-prod', stateMachine: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m' },
    });
  });

  it('reads JSON too, with the alternative spellings: a comma-separated sets, one catalog, renames as a mapping', () => {
    const dir = directory({ 'c.json': JSON.stringify({ sets: 'dead, retry', routing: { rename: { mailers_old: 'mailers', a: 'b' } } }) });
    expect(readConfigFile(join(dir, 'c.json'), 'c.json', {})).toEqual({ sets: ['dead', 'retry'], routing: { rename: ['mailers_old=mailers', 'a=b'] } });

    const other = directory({ 'c.json': JSON.stringify({ routing: { catalog: 'q.yml', rules: 'r.yml' }, pageSize: '20' }) });
    expect(readConfigFile(join(other, 'c.json'), 'c.json', {})).toEqual({ routing: { catalog: [join(other, 'q.yml')], rules: join(other, 'r.yml') }, pageSize: 20 });
  });

  it('takes ${VAR} from the environment, and $${ as a literal', () => {
    const dir = directory({ 'c.yml': 'redis: rediss://:${REDIS_PASSWORD}@cache:6379\nnamespace: "$${NOT}:${EMPTY}"\nrouting:\n  rename: ["${OLD}=new"]\n' });

    const config = readConfigFile(join(dir, 'c.yml'), 'c.yml', { REDIS_PASSWORD: 's3cret', EMPTY: '', OLD: 'old' });

    expect(config).toEqual({ redis: 'rediss://:s3cret@cache:6379', namespace: '${NOT}:', routing: { rename: ['old=new'] } });
  });

  it('names an unset variable and the key that uses it, once', () => {
    expect(problemsOf('c.yml', 'redis: "redis://:${REDIS_PASSWORD}@h:6379"\nrouting:\n  catalog: ["${GITLAB}/all_queues.yml"]\n  rules: r.yml\n')).toEqual([
      'c.yml: redis: the environment variable REDIS_PASSWORD is not set',
      'c.yml: routing.catalog[0]: the environment variable GITLAB is not set',
    ]);
  });

  it('refuses an unknown key with its path, suggesting the key probably meant', () => {
    expect(problemsOf('sidekiq-migrate.config.yaml', 'routing:\n  rulez: r.yml\n')).toEqual(['sidekiq-migrate.config.yaml: routing.rulez: unknown key (did you mean "rules"?)']);
    expect(problemsOf('c.yml', 'page_size: 3\nregion: eu-west-1\ncolour: blue\n')).toEqual([
      'c.yml: page_size: unknown key (did you mean "pageSize"?)',
      'c.yml: region: unknown key (did you mean "aws.region"?)',
      'c.yml: colour: unknown key',
    ]);
  });

  it('reports every problem together, each with the file and the key', () => {
    const problems = problemsOf('c.yaml', 'redis: http://h\npageSize: 0\nsets: [schedule, nope]\nunmapped: drop\nqueues: maybe\nrouting:\n  mapping: m.json\n  rename: [a=b]\naws:\n  stack: 1bad\n  stak: x\n');

    expect(problems).toEqual([
      expect.stringMatching(/^c\.yaml: redis: .*the scheme must be redis:\/\/ or rediss:\/\//),
      'c.yaml: sets: unknown set(s) nope; choose from schedule, retry, dead, interrupted',
      'c.yaml: queues: true or false',
      'c.yaml: pageSize: the page size must be positive',
      'c.yaml: unmapped: leave or quarantine',
      'c.yaml: routing: give one of catalog and rules, mapping, or rename, not several',
      expect.stringMatching(/^c\.yaml: aws\.stack: a CloudFormation stack name/),
      'c.yaml: aws.stak: unknown key (did you mean "stack"?)',
    ]);
  });

  it('accepts the example in examples/', () => {
    const env = { REDIS_PASSWORD: 'a', OLD_REDIS_PASSWORD: 'b', NEW_REDIS_PASSWORD: 'c' };

    const config = readConfigFile(repoPath('examples/sidekiq-migrate.config.yaml'), 'example', env);

    expect(config.routing?.rules).toBe(repoPath('examples/gitlab-routing-rules.yml'));
    expect(config.aws).toEqual({ region: 'eu-west-1', stack: 'SidekiqMigrate' });
  });

  it("the example's commented settings \"(the flags' defaults shown)\" are the defaults the run takes", () => {
    const text = readFileSync(repoPath('examples/sidekiq-migrate.config.yaml'), 'utf8');
    const block = text.slice(text.indexOf("(the flags' defaults shown)")).split('\n\n')[0]!.split('\n').slice(1);
    const dir = directory({ 'defaults.yml': block.map((line) => line.replace(/^# /, '')).join('\n') });

    const config = readConfigFile(join(dir, 'defaults.yml'), 'defaults.yml', {});

    // The sets a run takes when none are given (GitLab's interrupted only where it exists).
    expect(config.sets).toEqual([...SORTED_SET_NAMES]);
    expect(config).toMatchObject({ queues: true, pageSize: 1000, unmapped: 'leave', append: false, strict: false, timeLimit: 120 });
    expect(config.rateLimit).toBeUndefined();
  });

  it('requires a mapping at the top, and accepts an empty file', () => {
    expect(problemsOf('c.yml', '- redis\n')).toEqual(['c.yml: a mapping of settings (a JSON object or YAML mapping)']);
    const dir = directory({ 'c.yml': '# nothing yet\n' });
    expect(readConfigFile(join(dir, 'c.yml'), 'c.yml', {})).toEqual({});
  });

  it('never shows a password, even of a URL no parser takes', () => {
    const problems = problemsOf('c.yml', 'redis: "redis://:${PW}@h:notaport"\nfrom: ":hunter22@h:6379"\npageSize: many\n', { PW: 'p@ss-w0rd' }).join('\n');

    expect(problems).toContain('c.yml: pageSize');
    expect(problems).toContain('c.yml: from');
    expect(problems).not.toMatch(/p@ss|w0rd|hunter22/);
  });
});

describe('finding the configuration file', () => {
  it('uses the one sidekiq-migrate.config.* of the directory, none when there is none', () => {
    const dir = directory({ 'sidekiq-migrate.config.yml': 'namespace: x\n' });

    expect(loadCliConfig({ cwd: dir, env: {} })).toEqual({ file: { path: join(dir, 'sidekiq-migrate.config.yml'), name: 'sidekiq-migrate.config.yml', origin: 'the current directory' }, values: { namespace: 'x' } });
    expect(loadCliConfig({ cwd: directory({}), env: {} })).toBeUndefined();
  });

  it('refuses two in one directory, naming both', () => {
    const dir = directory({ 'sidekiq-migrate.config.json': '{}', 'sidekiq-migrate.config.yaml': '{}' });

    expect(() => loadCliConfig({ cwd: dir, env: {} })).toThrow(/Several configuration files in .*: sidekiq-migrate\.config\.json, sidekiq-migrate\.config\.yaml\. Keep one, or choose one with --config FILE/);
  });

  it('takes --config over $SIDEKIQ_MIGRATE_CONFIG over the directory, relative to cwd', () => {
    const dir = directory({ 'sidekiq-migrate.config.json': '{"namespace": "dir"}', 'a.yml': 'namespace: flag\n', 'b.yml': 'namespace: env\n' });
    const env = { SIDEKIQ_MIGRATE_CONFIG: 'b.yml' };

    expect(loadCliConfig({ path: 'a.yml', cwd: dir, env })?.values).toEqual({ namespace: 'flag' });
    expect(loadCliConfig({ cwd: dir, env })?.file).toEqual({ path: join(dir, 'b.yml'), name: 'b.yml', origin: 'SIDEKIQ_MIGRATE_CONFIG' });
    expect(() => loadCliConfig({ path: 'missing.yml', cwd: dir, env })).toThrow(/^Cannot read the configuration file \/.*\/missing\.yml: no such file$/);
  });
});

describe('optionsWithConfig', () => {
  /** A `run`-like command parsed from args, with the options its action would receive. */
  function parsed(args: string[]): { command: Command; raw: Record<string, unknown>; err: () => string } {
    let err = '';
    const program = new Command('p').option('--config <file>').exitOverride();
    const command = addMigrationOptions(program.command('run').option('--redis <url>').option('--unmapped <what>'))
      .configureOutput({ writeErr: (t) => void (err += t) })
      .action(() => {});
    program.parse(args, { from: 'user' });
    return { command, raw: command.opts(), err: () => err };
  }
  const dir = directory({
    'sidekiq-migrate.config.yaml': 'redis: redis://file:6379\nnamespace: "file:"\nqueues: false\npageSize: 10\ntoNamespace: unused\nrouting:\n  mapping: map.json\naws:\n  stack: S\n',
  });

  it('takes the file for what neither the command line nor the environment gives, only for options the command has', () => {
    const { command, raw, err } = parsed(['run', '--page-size', '5']);

    expect(optionsWithConfig(command, raw, {}, { cwd: dir })).toEqual({
      redis: 'redis://file:6379',
      namespace: 'file:',
      queues: false,
      pageSize: '5',
      mapping: join(dir, 'map.json'),
    });
    expect(err()).toBe('Using configuration file sidekiq-migrate.config.yaml (the current directory)\n');
  });

  it('flag over environment over file; a routing flag replaces the whole routing section', () => {
    const { command, raw } = parsed(['run', '--namespace', 'flag:', '--rename', 'a=b', '--no-queues']);
    const env = { SIDEKIQ_MIGRATE_NAMESPACE: 'env:', SIDEKIQ_MIGRATE_REDIS: 'redis://env:6379', SIDEKIQ_MIGRATE_TO_NAMESPACE: 'x', SIDEKIQ_MIGRATE_FROM: '' };

    const options = optionsWithConfig(command, raw, env, { cwd: dir });

    expect(options).toMatchObject({ namespace: 'flag:', redis: 'redis://env:6379', rename: ['a=b'], queues: false, pageSize: 10 });
    expect(options).not.toHaveProperty('mapping');
    expect(options).not.toHaveProperty('toNamespace');
    expect(raw).not.toHaveProperty('redis');
  });

  it('refuses a bad environment variable by its name, without its password', () => {
    const { command, raw } = parsed(['run']);

    // Said when the options are validated, with their own problems (one message), not here alone.
    const options = optionsWithConfig(command, raw, { SIDEKIQ_MIGRATE_REDIS: 'http://:topsecret@h' }, { cwd: dir });

    expect(options).not.toHaveProperty('redis');
    expect(() => validateConfig(z.looseObject({}), options)).toThrow(/^SIDEKIQ_MIGRATE_REDIS: .*http:\/\/:\*\*\*@h.*the scheme must be/);
  });

  it('leaves ignored options to the command line', () => {
    const { command, raw } = parsed(['run']);

    expect(optionsWithConfig(command, raw, { SIDEKIQ_MIGRATE_REDIS: 'redis://env:6379' }, { cwd: dir, ignore: ['redis', 'namespace'] })).not.toHaveProperty('redis');
  });
});
