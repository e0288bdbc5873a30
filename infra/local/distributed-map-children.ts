/** What aws-local-stepfunctions 3's `StateMachine.run` returns: one execution. */
export interface EmulatorRun {
  readonly abort: () => void;
  readonly eventLogs: AsyncGenerator<unknown>;
  readonly result: Promise<unknown>;
}

/** The run options a Map passes on to its items' executions: the parent's (its context included). */
export type ChildRunOptions = { readonly context?: { readonly Execution?: { readonly Id?: string } } } | undefined;

/** Given each child execution as it starts; returns the execution the Map is to wait for. */
export type ChildRunHook = (run: EmulatorRun, options: ChildRunOptions) => EmulatorRun;

type RunFunction = (this: { definition?: object }, input: unknown, options?: ChildRunOptions) => EmulatorRun;
type MachineClass = { prototype: object };

const hooks = new WeakMap<object, ChildRunHook>();
const PATCHED = Symbol.for('sidekiq-migrate.distributed-map-children');

/**
 * Calls `hook` for every execution of `processor` — a Distributed Map's ItemProcessor, by object
 * identity: each of its items' child executions. aws-local-stepfunctions runs a Map's items in
 * its own Map action, as an Inline Map: a failed item fails the Map with the item's own error, and
 * it offers no hook there. AWS runs a Distributed Map's items as child executions that fail on
 * their own (a state over 256 KiB, a history over 25,000 events) and fails the Map with
 * States.ExceedToleratedFailureThreshold, which the Map's Catch takes. The Map action starts each
 * item with `StateMachine.run` on a machine of the ItemProcessor object itself, so wrapping `run`
 * is where the local runner can see a child execution. Only registered ItemProcessor objects are
 * touched (each local runner registers its own copy of the definition's); every other run is the
 * library's own.
 */
export function interceptChildRuns(machineClass: MachineClass, processor: object, hook: ChildRunHook): void {
  hooks.set(processor, hook);
  const proto = machineClass.prototype as { run: RunFunction; [PATCHED]?: true };
  if (proto[PATCHED]) return;
  const run = proto.run;
  proto.run = function (input, options) {
    const started = run.call(this, input, options);
    const childHook = this.definition ? hooks.get(this.definition) : undefined;
    return childHook ? childHook(started, options) : started;
  };
  proto[PATCHED] = true;
}
