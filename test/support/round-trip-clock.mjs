// Preloaded (`node --import`) into a CLI child whose time bound a test asserts: the child's clock
// (Date.now, new Date(), performance.now) moves only when the child talks to a server over TCP,
// ROUND_TRIP_CLOCK_MS per round trip, so the test pins the bound in round trips, not in how fast a
// loaded 2-core CI runs the child. It is the child-process form of command-clock.ts's perRoundTrip:
// the writes of one synchronous burst (a pipeline, a Promise.all of commands) go out together and
// cost once. It hooks net.Socket, not ioredis, so it works in the shipped bundle (dist/) as in the
// sources. No product code knows of it.
//
// Timers stay real (ioredis' connect and command timeouts, the CLI's own waits), except:
//   ROUND_TRIP_CLOCK_SLEEPS_IN  a regular expression; a setTimeout whose call stack matches it ends
//                               at once and moves the clock by its length (the local state
//                               machine's retry backoff: `at sleep \(.*main\.node\.esm`).
//   ROUND_TRIP_CLOCK_WATCH_TIMERS  delays in ms, separated by commas: a real timer of one of them
//                               that fires is recorded (`timersFired`), with the marks before it;
//                               ioredis' command timeout (30,000) fired or not says why a command
//                               failed when, however slow the machine.
//   ROUND_TRIP_CLOCK_MARK_AT    a regular expression: a write to stderr that matches it marks the
//                               clock, as SIGUSR2 does (below), at the very instant the child says it.
//   ROUND_TRIP_CLOCK_MARK_ON_SIGNAL  a signal's name (SIGINT): its arrival marks the clock
//                               ({ by: 'signal' }), at the instant the CLI's own handler sees it (this
//                               listener comes first), not when the test sent it: a mark the test sent
//                               just before (SIGUSR2) may be handled a retry wait earlier on a loaded
//                               machine. From then on the sleeps are real again and recorded when they
//                               end: a retry wait the child only began before it quit was not waited out.
//                               While it is set the signal no longer kills a child with no handler of
//                               its own.
//   ROUND_TRIP_CLOCK_REPORT     a file: at exit, JSON { elapsedMs, roundTrips, sleeps, marks, timersFired }.
// SIGUSR2 marks the clock ({ by: 'signal', atMs, roundTrips, sleeps } in `marks`): a test signals
// the child at an instant of its own (it took the server down) and reads how far the child's clock
// went from it.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const msPerRoundTrip = Number(process.env.ROUND_TRIP_CLOCK_MS ?? '0');
const sleepsIn = process.env.ROUND_TRIP_CLOCK_SLEEPS_IN ? new RegExp(process.env.ROUND_TRIP_CLOCK_SLEEPS_IN) : undefined;
const reportTo = process.env.ROUND_TRIP_CLOCK_REPORT;
const markAt = process.env.ROUND_TRIP_CLOCK_MARK_AT ? new RegExp(process.env.ROUND_TRIP_CLOCK_MARK_AT) : undefined;
const markOnSignal = process.env.ROUND_TRIP_CLOCK_MARK_ON_SIGNAL;
const watched = new Set((process.env.ROUND_TRIP_CLOCK_WATCH_TIMERS ?? '').split(',').filter(Boolean).map(Number));

const RealDate = Date;
const realPerformanceNow = performance.now.bind(performance);
const startedAt = RealDate.now();
const performanceAtStart = realPerformanceNow();
let now = startedAt;
let roundTrips = 0;
let inBurst = false;
/** The sleeps taken at once (or, after markOnSignal arrived, waited out), their ms in order. */
const sleeps = [];
const marks = [];
/** The watched timers that fired: their ms, and how many marks came before. */
const timersFired = [];
/** markOnSignal has arrived: sleeps are real from then on. */
let signalled = false;

/** Date as the child sees it: `new Date()` and Date.now() give the clock; every other form is Date's. */
class ClockDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(now);
    else super(...args);
  }
  static now() {
    return now;
  }
  // A Date made before the preload or by Node itself (fs.Stats) is still a Date.
  static [Symbol.hasInstance](value) {
    return value instanceof RealDate;
  }
}
globalThis.Date = ClockDate;
performance.now = () => performanceAtStart + (now - startedAt);

const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (...args) {
  // TCP only: stdout and stderr piped to the test are sockets too, of no remote port.
  if (this.remotePort !== undefined && !inBurst) {
    roundTrips += 1;
    now += msPerRoundTrip;
    inBurst = true;
    globalThis.queueMicrotask(() => {
      inBurst = false;
    });
  }
  return Reflect.apply(write, this, args);
};

if (sleepsIn || watched.size > 0) {
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = function (handler, ms, ...rest) {
    if (sleepsIn?.test(new Error().stack ?? '')) {
      if (signalled && typeof handler === 'function') {
        const waitedOut = function (...args) {
          sleeps.push(ms ?? 0);
          now += ms ?? 0;
          return Reflect.apply(handler, this, args);
        };
        return Reflect.apply(realSetTimeout, globalThis, [waitedOut, ms, ...rest]);
      }
      sleeps.push(ms ?? 0);
      now += ms ?? 0;
      return Reflect.apply(realSetTimeout, globalThis, [handler, 0, ...rest]);
    }
    if (!watched.has(ms) || typeof handler !== 'function') return Reflect.apply(realSetTimeout, globalThis, [handler, ms, ...rest]);
    const fired = function (...args) {
      timersFired.push({ ms, marks: marks.length });
      return Reflect.apply(handler, this, args);
    };
    return Reflect.apply(realSetTimeout, globalThis, [fired, ms, ...rest]);
  };
}

const mark = (by) => marks.push({ by, atMs: now - startedAt, roundTrips, sleeps: sleeps.length });
process.on('SIGUSR2', () => mark('signal'));
if (markOnSignal) {
  process.prependListener(markOnSignal, () => {
    mark('signal');
    signalled = true;
  });
}
if (markAt) {
  const stderrWrite = process.stderr.write;
  process.stderr.write = function (chunk, ...rest) {
    if (markAt.test(String(chunk))) mark('stderr');
    return Reflect.apply(stderrWrite, this, [chunk, ...rest]);
  };
}

if (reportTo) process.on('exit', () => writeFileSync(reportTo, JSON.stringify({ elapsedMs: now - startedAt, roundTrips, sleeps, marks, timersFired })));
