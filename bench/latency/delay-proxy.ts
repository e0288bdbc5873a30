/**
 * A TCP proxy that adds a fixed one-way delay to every chunk, in both directions, preserving
 * order per connection: Lambda → ElastiCache round trips on a loopback machine. Run as a forked
 * process (argv: target port); it listens on a free loopback port and reports it over IPC.
 *
 * Node's timers have ~1 ms granularity, far too coarse for 0.25 ms, so forwarding is scheduled on
 * performance.now() deadlines: while a chunk is due within 2 ms the loop spins on setImmediate
 * (which polls sockets on every turn, so arrivals are timestamped within microseconds); farther
 * deadlines sleep on a timer first. The spin costs CPU only while data is in flight. The actual
 * added round trip is measured from outside (PING through the proxy vs direct), and the lateness
 * of each forward versus its deadline is recorded here and reported on request.
 */
import { createConnection, createServer, type Socket } from 'node:net';

interface Chunk {
  readonly due: number;
  readonly data: Buffer;
}

/** One direction of one connection: chunks waiting for their deadline, in arrival order. */
class DelayLine {
  chunks: Chunk[] = [];
  head = 0;
  constructor(readonly out: Socket) {}
}

let oneWayMs = 0;
const active = new Set<DelayLine>();
let pumping = false;
const lateness: number[] = [];

function enqueue(line: DelayLine, data: Buffer): void {
  if (oneWayMs === 0 && line.head === line.chunks.length) {
    line.out.write(data);
    return;
  }
  line.chunks.push({ due: performance.now() + oneWayMs, data });
  active.add(line);
  if (!pumping) {
    pumping = true;
    setImmediate(pump);
  }
}

function pump(): void {
  const now = performance.now();
  let next = Infinity;
  for (const line of active) {
    let wrote = false;
    while (line.head < line.chunks.length && line.chunks[line.head]!.due <= now) {
      const chunk = line.chunks[line.head++]!;
      if (!wrote) line.out.cork();
      wrote = true;
      line.out.write(chunk.data);
      if (lateness.length < 1_000_000) lateness.push(now - chunk.due);
    }
    if (wrote) line.out.uncork();
    if (line.head === line.chunks.length) {
      line.chunks = [];
      line.head = 0;
      active.delete(line);
    } else next = Math.min(next, line.chunks[line.head]!.due);
  }
  if (next === Infinity) {
    pumping = false;
    return;
  }
  const wait = next - performance.now();
  if (wait > 2) setTimeout(pump, wait - 1.5);
  else setImmediate(pump);
}

const target = Number(process.argv[2]);
const server = createServer((client) => {
  const upstream = createConnection({ host: '127.0.0.1', port: target });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const toServer = new DelayLine(upstream);
  const toClient = new DelayLine(client);
  client.on('data', (d) => enqueue(toServer, d));
  upstream.on('data', (d) => enqueue(toClient, d));
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('close', close).on('error', close);
  upstream.on('close', close).on('error', close);
});

type Command = { type: 'delay'; oneWayMicros: number } | { type: 'stats' };

process.on('message', (command: Command) => {
  if (command.type === 'delay') {
    oneWayMs = command.oneWayMicros / 1000;
    lateness.length = 0;
    process.send!({ type: 'delay', oneWayMicros: command.oneWayMicros });
  } else {
    const sorted = Float64Array.from(lateness).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000);
    process.send!({ type: 'stats', chunks: sorted.length, latenessMicros: { p50: at(0.5), p99: at(0.99), max: at(1) }, cpu: process.cpuUsage() });
    lateness.length = 0;
  }
});
// Never outlive the orchestrator.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
