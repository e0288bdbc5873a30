import { describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors/input-error.js';
import { resolveRoutingInput } from '../../../core/workflow/resolve-routing.js';

// An execution started without the CLI (Step Functions console, a pipeline) gives its mapping as
// input: a destination written as its key (queue:new) is refused there as --mapping refuses it,
// while a queue with white space, which a GitLab rule may name verbatim, is kept.
describe('resolveRoutingInput: destinations given as key names', () => {
  it('refuses a mapping to queue:new, naming the class and suggesting new', () => {
    const resolve = () => resolveRoutingInput({ kind: 'mapping', mapping: { A: 'default', SomeWorker: 'queue:new' } });
    expect(resolve).toThrow(InputError);
    expect(resolve).toThrow(
      'The mapping of the execution input is invalid:\n  - SomeWorker: the queue "queue:new" is a key name, not a queue name: its jobs would go to the list queue:queue:new, which no Sidekiq process fetches from; give new',
    );
  });

  it('refuses renames to queue:new as --rename does', () => {
    expect(() => resolveRoutingInput({ kind: 'renames', renames: { a: 'queue:new' } })).toThrow('Invalid --rename:\n  - "a=queue:new": the queue "queue:new" is a key name');
  });

  it('keeps a mapping a GitLab rule gives verbatim, and one from a queue named like a key (its jobs rescued)', () => {
    expect(() => resolveRoutingInput({ kind: 'mapping', mapping: { A: 'default ', B: 'cronjob:x' } })).not.toThrow();
    expect(() => resolveRoutingInput({ kind: 'renames', renames: { 'queue:new': 'new' } })).not.toThrow();
  });
});
