// audit-chaos: randomised SIGKILL trials of the CLI's run / rollback / move variants,
// with a concurrent producer, a Sidekiq-like poller (ZRANGEBYSCORE + ZREM + LPUSH) and a fetcher.
// Usage: node scripts/chaos-kill-trials.mjs SCENARIO TRIALS SEED [SLOT]
// SCENARIO: run | run-append | run-rename | rollback | move-classes | move-append | ns-move | move-takeover
// Results in /tmp/chaos/log-SCENARIO-SLOT.txt; ports 45500+10*SLOT (audit-chaos range). bench/README.md, audit-chaos.
// CHAOS_DIR (default /tmp/chaos) and CHAOS_PORT0 (default 45500) move both, for a helper with its own range.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { setTimeout, clearTimeout } from 'node:timers';
import { Redis } from 'ioredis';

const CLI = process.env.CHAOS_CLI ?? '/tmp/chaos/cli/bin/sidekiq-migrate.js';
const [scenario, trialsArg, seedArg, slotArg] = process.argv.slice(2);
const TRIALS = Number(trialsArg ?? 1);
let seed = Number(seedArg ?? 1) >>> 0;
const SLOT = Number(slotArg ?? 0);
const PORT0 = Number(process.env.CHAOS_PORT0 ?? 45500) + SLOT * 10;
const DIR = process.env.CHAOS_DIR ?? '/tmp/chaos';
const LOG = `${DIR}/log-${scenario}-${SLOT}.txt`;
mkdirSync(DIR, { recursive: true });

// mulberry32
function rand() { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }
const pick = (a) => a[Math.floor(rand() * a.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => { process.stdout.write(s + '\n'); appendFileSync(LOG, s + '\n'); };

let jidN = 0;
const newJid = () => `${(jidN++).toString(16).padStart(8, '0')}${Math.floor(rand() * 0xffffffff).toString(16).padStart(8, '0')}aaaaaaaa`;
const plain = (cls, queue, jid, extra = '') => `{"retry":true,"queue":"${queue}","args":[1,"h\u00e9llo \u2713",{"n":-0.0,"e":1.0e+20}],"class":"${cls}","jid":"${jid}","created_at":1795459303.8459766${extra}}`;
const activeJob = (wrapped, queue, jid) => `{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","wrapped":"${wrapped}","queue":"${queue}","args":[{"job_class":"${wrapped}","job_id":"${jid}-aj","provider_job_id":null,"queue_name":"${queue}","priority":null,"arguments":["a",1],"executions":0,"locale":"en"}],"retry":true,"jid":"${jid}","created_at":1795459303.5}`;
// Class -> seeded queue. E is mapped nowhere; NotifyMailer is ActiveJob.
const ORIGIN = { A: 'old_a', B: 'old_b', C: 'default', E: 'default', F: 'old_b', NotifyMailer: 'mailers' };
const MAPPING = { A: 'new_a', B: 'new_b', C: 'default', NotifyMailer: 'new_mail' };
const makeJob = (cls, queue = ORIGIN[cls]) => (cls === 'NotifyMailer' ? activeJob(cls, queue, newJid()) : plain(cls, queue, newJid()));
const garbage = () => `not json {${newJid()}`;

const idOf = (b) => { const m = /"jid":"([0-9a-f]+)"/.exec(b); return m ? m[1] : `raw:${b}`; };
const norm = (b) => b.replace(/"queue":"[^"]*"/g, '"queue":""').replace(/"queue_name":"[^"]*"/g, '"queue_name":""');
const classOf = (b) => { const w = /"wrapped":"([^"]+)"/.exec(b); if (w) return w[1]; const c = /"class":"([^"]+)"/.exec(b); return c ? c[1] : null; };
const queueField = (b) => /"queue":"([^"]*)"/.exec(b)?.[1] ?? null;
const queueNameField = (b) => /"queue_name":"([^"]*)"/.exec(b)?.[1] ?? null;

async function startRedis(port) {
  const p = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 50, retryStrategy: () => 50 });
  c.on('error', () => {});
  for (let i = 0; i < 100; i++) { try { await c.connect(); break; } catch { await sleep(50); } }
  await c.flushall();
  return { proc: p, client: c, port, url: `redis://127.0.0.1:${port}` };
}

// --- the world: expected jobs (id -> {bytes, score?}), consumed ids
function newWorld() { return { jobs: new Map(), consumed: [] }; }
function note(world, bytes, score) { world.jobs.set(idOf(bytes), { bytes, score }); }

async function seedData(world, r, prefix, sizes) {
  const p = prefix;
  const now = Date.now() / 1000;
  const lists = { [`${p}queue:old_a`]: [], [`${p}queue:old_b`]: [], [`${p}queue:default`]: [], [`${p}queue:mailers`]: [] };
  const classes = sizes.withF ? ['A', 'B', 'C', 'E', 'F', 'NotifyMailer'] : ['A', 'B', 'C', 'E', 'NotifyMailer'];
  for (const cls of classes) {
    const n = Math.floor(sizes.queue * (0.2 + rand()));
    for (let i = 0; i < n; i++) { const b = makeJob(cls); lists[`${p}queue:${ORIGIN[cls]}`].push(b); note(world, b); }
  }
  for (let i = 0; i < 3; i++) { const b = garbage(); lists[`${p}queue:${sizes.withF ? 'old_b' : 'default'}`].push(b); note(world, b); }
  for (const [k, v] of Object.entries(lists)) for (let i = 0; i < v.length; i += 500) await r.lpush(k, ...v.slice(i, i + 500));
  await r.sadd(`${p}queues`, 'old_a', 'old_b', 'default', 'mailers');
  for (const set of ['schedule', 'retry', 'dead']) {
    const n = Math.floor(sizes.set * (0.3 + rand()));
    const args = [];
    for (let i = 0; i < n; i++) {
      const cls = pick(classes);
      // schedule/retry: a share comes due during the trial (the poller moves them); dead: old scores.
      const score = set === 'dead' ? now - 86400 * rand() : rand() < 0.3 && cls !== 'E' && cls !== 'F' ? now + 8 * rand() : now + 3600 + 86400 * rand();
      const s = score.toFixed(6);
      const b = set === 'retry' ? plain(cls, ORIGIN[cls], newJid(), ',"retry_count":2,"error_class":"RuntimeError"') : makeJob(cls);
      args.push(s, b); note(world, b, s);
    }
    const g = garbage(); const gs = (now + 7200).toFixed(6); args.push(gs, g); note(world, g, gs);
    for (let i = 0; i < args.length; i += 1000) await r.zadd(`${p}${set}`, ...args.slice(i, i + 1000));
  }
}

// Concurrent Sidekiq-like actors on one Redis under prefix p.
function actors(world, r, p, opts) {
  let stop = false;
  const loops = [];
  if (opts.produce) loops.push((async () => {
    while (!stop) {
      const cls = pick(opts.produce);
      if (rand() < 0.2) { const b = makeJob(cls); const s = (Date.now() / 1000 + 3 * rand()).toFixed(6); note(world, b, s); await r.zadd(`${p}schedule`, s, b); }
      else { const q = opts.produceQueue ? opts.produceQueue(cls) : ORIGIN[cls]; const b = makeJob(cls, q); note(world, b); await r.lpush(`${p}queue:${q}`, b); }
      await sleep(2 + 10 * rand());
    }
  })());
  if (opts.poll) loops.push((async () => {
    while (!stop) {
      for (const set of ['schedule', 'retry']) {
        const due = await r.zrangebyscore(`${p}${set}`, '-inf', String(Date.now() / 1000), 'LIMIT', 0, 5);
        for (const b of due) {
          if (b.startsWith('not json')) continue;
          if ((await r.zrem(`${p}${set}`, b)) === 1) await r.lpush(`${p}queue:${queueField(b)}`, b); // Sidekiq 6 Scheduled::Enq (same bytes here)
        }
      }
      await sleep(20 + 30 * rand());
    }
  })());
  if (opts.fetch) loops.push((async () => {
    while (!stop) {
      const q = pick(opts.fetch);
      const b = await r.rpop(`${p}queue:${q}`);
      if (b !== null) world.consumed.push(b);
      await sleep(5 + 20 * rand());
    }
  })());
  return async () => { stop = true; await Promise.all(loops); };
}

function runCli(args, killPlan) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '', err = '', timer = null, armed = false;
    const arm = (ms) => { if (armed) return; armed = true; timer = setTimeout(() => child.kill('SIGKILL'), ms); };
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; if (killPlan?.afterMoved && /[1-9][\d,]* (moved|claimed|written)/.test(err)) arm(killPlan.ms); });
    if (killPlan && !killPlan.afterMoved) arm(killPlan.ms);
    child.on('exit', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code, signal, out, err }); });
  });
}

async function everything(servers) {
  // id -> list of {where, bytes, score}
  const found = [];
  for (const s of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await s.client.scan(cursor, 'COUNT', 1000); cursor = next;
      for (const k of keys) {
        const t = await s.client.type(k);
        const isJobKey = /(^|:)queue:/.test(k) || /(^|:)(schedule|retry|dead)$/.test(k) || /sidekiq-migrate:.*(inflight|quarantine)/.test(k);
        if (!isJobKey) continue;
        if (t === 'list') for (const b of await s.client.lrange(k, 0, -1)) found.push({ where: `${s.port}/${k}`, key: k, bytes: b });
        else if (t === 'zset') { const a = await s.client.zrange(k, 0, -1, 'WITHSCORES'); for (let i = 0; i < a.length; i += 2) found.push({ where: `${s.port}/${k}`, key: k, bytes: a[i], score: a[i + 1] }); }
        else if (t === 'hash' && /inflight/.test(k)) { const h = await s.client.hgetall(k); for (const v of Object.values(h)) found.push({ where: `${s.port}/${k}`, key: k, bytes: v }); }
      }
    } while (cursor !== '0');
  }
  return found;
}

async function toolKeys(servers) {
  const bad = [];
  for (const s of servers) {
    const keys = await s.client.keys('*sidekiq-migrate:*');
    for (const k of keys) {
      const ttl = await s.client.pttl(k);
      const kind = /sidekiq-migrate:[^:]+:([a-z-]+)/.exec(k)?.[1];
      if (['inflight', 'batch', 'acknowledged', 'seal', 'originals', 'claim-chain'].includes(kind)) bad.push(`${s.port}/${k} (interrupted-only kind)`);
      else if (ttl === -1 && !/sidekiq-migrate:(target-id|quarantine:)/.test(k)) bad.push(`${s.port}/${k} (no expiry)`);
      if (/sidekiq-migrate:lock$/.test(k)) bad.push(`${s.port}/${k} (lock left)`);
    }
  }
  return bad;
}

function checkMultiset(world, found) {
  const problems = [];
  const seen = new Map();
  for (const f of [...found.map((f) => ({ ...f })), ...world.consumed.map((b) => ({ where: 'consumed', bytes: b }))]) {
    const id = idOf(f.bytes);
    const exp = world.jobs.get(id);
    if (!exp) { problems.push(`unexpected job ${id} at ${f.where}`); continue; }
    if (seen.has(id)) problems.push(`DUPLICATE ${id}: ${seen.get(id).where} and ${f.where}`);
    seen.set(id, f);
    if (norm(f.bytes) !== norm(exp.bytes)) problems.push(`bytes changed ${id} at ${f.where}: ${f.bytes.slice(0, 200)} vs ${exp.bytes.slice(0, 200)}`);
    if (f.score !== undefined && exp.score !== undefined && Number(f.score) !== Number(exp.score)) problems.push(`score changed ${id} at ${f.where}: ${f.score} vs ${exp.score}`);
    const q = queueField(f.bytes), qn = queueNameField(f.bytes);
    if (qn !== null && q !== qn) problems.push(`queue ${q} but queue_name ${qn}: ${id} at ${f.where}`);
    if (f.where !== 'consumed' && /queue:/.test(f.key) && !/sidekiq-migrate/.test(f.key) && q !== null && !f.key.endsWith(`queue:${q}`)) problems.push(`payload queue ${q} in list ${f.where}: ${id}`);
  }
  for (const id of world.jobs.keys()) if (!seen.has(id)) problems.push(`LOST ${id}`);
  return { problems, seen };
}

const lastLine = (out) => out.trim().split('\n').filter(Boolean).pop() ?? '';

async function drainJson(args) {
  const r = await runCli(['drain-check', ...args, '--json']);
  try { return { code: r.code, json: JSON.parse(r.out) }; } catch { return { code: r.code, json: null, raw: r.out + r.err }; }
}

async function trial(n) {
  const trialSeed = seed;
  const twoRedis = scenario.startsWith('move');
  const servers = [await startRedis(PORT0)];
  if (twoRedis) servers.push(await startRedis(PORT0 + 1));
  const [src, tgt = src] = servers;
  const world = newWorld();
  const prefix = scenario === 'ns-move' ? 'resque:gitlab:' : '';
  const k = twoRedis || scenario === 'ns-move' ? 3 : 1;
  const sizes = { queue: Math.floor(k * (200 + rand() * 1200)), set: Math.floor(k * (100 + rand() * 600)), withF: rand() < 0.5 };
  await seedData(world, src.client, prefix, sizes);
  if (scenario === 'ns-move') { const b = makeJob('C'); note(world, b); await src.client.lpush('queue:default', b); }
  const mapFile = `${DIR}/map-${SLOT}.json`;
  writeFileSync(mapFile, JSON.stringify(MAPPING));
  const pageSize = String(pick([50, 200, 1000]));
  const unmapped = pick(['leave', 'quarantine']);
  const append = scenario.endsWith('append') || rand() < 0.4;
  let args, actorOpts, drainArgs;
  const sel = ['A', 'NotifyMailer'];
  if (scenario.startsWith('run') || scenario === 'rollback') {
    args = ['run', '--redis', src.url, '--page-size', pageSize, '--unmapped', unmapped];
    if (scenario === 'run-rename') args.push('--rename', 'old_a=new_a', '--rename', 'mailers=new_mail', '--rename', 'old_b=new_b');
    else args.push('--mapping', mapFile);
    if (scenario === 'run-append' || (scenario !== 'run' && append)) args.push('--append');
    const fwd = (cls) => (scenario === 'run-rename' ? { old_a: 'new_a', mailers: 'new_mail', old_b: 'new_b' }[ORIGIN[cls]] ?? ORIGIN[cls] : MAPPING[cls]);
    if (scenario === 'rollback') {
      const first = await runCli(args);
      if (first.code !== 0) throw new Error(`setup run failed: ${first.out}${first.err}`);
      const runId = /run (reroute-[0-9a-f-]+)/.exec(first.out)?.[1];
      args = ['rollback', runId, '--redis', src.url, '--page-size', pageSize];
      if (append) args.push('--append');
      actorOpts = [{ r: src.client, p: prefix, produce: ['A', 'B', 'NotifyMailer', 'C'], produceQueue: (cls) => (rand() < 0.5 ? fwd(cls) : ORIGIN[cls]), poll: true, fetch: rand() < 0.5 ? ['default'] : null }];
      drainArgs = ['--redis', src.url, '--retired-queues', 'new_a,new_b,new_mail'];
    } else {
      actorOpts = [{ r: src.client, p: prefix, produce: ['A', 'B', 'NotifyMailer', 'C'], poll: true, fetch: rand() < 0.5 ? ['new_a', 'default'] : null }];
      drainArgs = ['--redis', src.url, '--retired-queues', 'old_a,old_b,mailers'];
    }
  } else {
    args = ['move', '--from', src.url, '--to', tgt.url, '--page-size', pageSize];
    if (scenario === 'ns-move') args.push('--namespace', 'resque:gitlab:', '--to-namespace', '');
    if (append) args.push('--append');
    if (scenario === 'move-classes') args.push('--classes', sel.join(','));
    actorOpts = [
      { r: src.client, p: prefix, produce: scenario === 'move-classes' ? ['A', 'B', 'NotifyMailer', 'E'] : ['A', 'B', 'NotifyMailer'], poll: true, fetch: rand() < 0.5 ? ['old_b'] : null },
      ...(scenario === 'ns-move' ? [] : [{ r: tgt.client, p: '', poll: true, fetch: rand() < 0.5 ? ['old_a', 'mailers'] : null }]),
    ];
    drainArgs = ['--redis', src.url, ...(prefix ? ['--namespace', prefix] : []), ...(scenario === 'move-classes' ? ['--classes', sel.join(',')] : [])];
  }
  const stops = actorOpts.map((o) => actors(world, o.r, o.p, o));
  const kills = scenario === 'move-takeover' ? 2 + Math.floor(rand() * 2) : 1 + Math.floor(rand() * 3);
  const record = [];
  let landed = 0;
  let firstArgs = args;
  if (scenario === 'move-takeover') firstArgs = [...args, '--classes', sel.join(',')];
  for (let k = 0; k < kills; k++) {
    if (scenario === 'move-takeover' && k === kills - 1) {
      // The dead run's lock expires (20 minutes): the next move is another run, which finishes its jobs in flight first.
      for (const srv of servers) { const l = await srv.client.get('sidekiq-migrate:lock'); if (l) await srv.client.set('sidekiq-migrate:lock', JSON.stringify({ ...JSON.parse(l), expiresAt: Date.now() - 1000 })); }
      firstArgs = args;
    }
    const plan = rand() < 0.5 ? { afterMoved: false, ms: 150 + rand() * 1100 } : { afterMoved: true, ms: rand() * 500 };
    const r = await runCli(firstArgs, plan);
    record.push(`${plan.afterMoved ? 'm+' : ''}${Math.round(plan.ms)}ms:${r.signal ?? r.code}`);
    if (r.signal === 'SIGKILL') landed++;
    else if (r.code !== 0) record.push(`(exit ${r.code}: ${lastLine(r.out + r.err).slice(0, 160)})`);
  }
  for (const s of stops) await (await s)();
  let fin;
  for (let i = 0; i < 4; i++) { fin = await runCli(args); if (fin.code === 0) break; record.push(`final exit ${fin.code}: ${lastLine(fin.out + fin.err).slice(0, 200)}`); }
  const problems = [];
  let extra = '';
  if (fin.code !== 0) problems.push(`final run exit ${fin.code}\n${fin.out}\n${fin.err}`);
  const found = await everything(servers);
  const { problems: mp } = checkMultiset(world, found);
  problems.push(...mp);
  // Where each job must be, and what the words must say.
  const isList = (f) => /(^|:)queue:/.test(f.key) && !/sidekiq-migrate/.test(f.key);
  const isSet = (f) => /(^|:)(schedule|retry|dead)$/.test(f.key);
  const isQuarantine = (f) => /sidekiq-migrate:quarantine:/.test(f.key);
  const isInflight = (f) => /sidekiq-migrate:.*inflight/.test(f.key);
  const retired = twoRedis || scenario === 'ns-move' ? [] : scenario === 'rollback' ? ['new_a', 'new_b', 'new_mail'] : ['old_a', 'old_b', 'mailers'];
  const truth = { quarantined: 0, leftInPlace: 0, onRetired: 0, inflight: 0, leftOnSource: 0 };
  for (const f of found) {
    const c = classOf(f.bytes), q = queueField(f.bytes), id = idOf(f.bytes);
    if (isQuarantine(f)) truth.quarantined++;
    if (isInflight(f)) truth.inflight++;
    const listQueue = isList(f) ? f.key.replace(/^.*queue:/, '') : null;
    if ((listQueue !== null && retired.includes(listQueue)) || (isSet(f) && q !== null && retired.includes(q))) truth.onRetired++;
    if (twoRedis || scenario === 'ns-move') {
      const srcSide = f.where.startsWith(`${src.port}/`) && (!prefix || f.key.startsWith(prefix));
      const selected = scenario !== 'move-classes' || sel.includes(c);
      if (srcSide && !isInflight(f) && selected) problems.push(`left on source: ${f.where} ${id}`);
      if (!srcSide && !selected) problems.push(`unselected moved: ${f.where} ${id}`);
      if (srcSide && !selected) truth.leftOnSource++;
      continue;
    }
    if (scenario === 'rollback') {
      if (c && ['A', 'B', 'NotifyMailer'].includes(c) && q !== ORIGIN[c] && !isQuarantine(f)) problems.push(`not rolled back: ${f.where} queue ${q}: ${id}`);
      continue;
    }
    if (scenario === 'run-rename') {
      const fwd = { old_a: 'new_a', old_b: 'new_b', mailers: 'new_mail' };
      if (c && (fwd[listQueue] || fwd[q])) problems.push(`not renamed: ${f.where} queue ${q}: ${id}`);
      continue;
    }
    // run --mapping
    if (c === null) { if (isSet(f) || (listQueue === 'old_b' && !isQuarantine(f))) truth.leftInPlace++; continue; }
    if (c === 'E') { if (q !== 'default') problems.push(`E moved: ${f.where} ${id}`); if (isSet(f)) truth.leftInPlace++; continue; }
    if (c === 'F') {
      if (isSet(f)) { truth.leftInPlace++; if (q !== 'old_b') problems.push(`F set entry changed queue: ${f.where}`); }
      else if (unmapped === 'quarantine' ? !isQuarantine(f) : listQueue !== 'old_b') problems.push(`F wrong place (${unmapped}): ${f.where} ${id}`);
      else if (!isQuarantine(f)) truth.leftInPlace++;
      continue;
    }
    if (isQuarantine(f)) { problems.push(`mapped job quarantined: ${f.where} ${id}`); continue; }
    if (q !== MAPPING[c]) problems.push(`misplaced: ${f.where} queue ${q}, want ${MAPPING[c]}: ${id}`);
  }
  problems.push(...(await toolKeys(servers)));
  const last = lastLine(fin.out);
  const dc = await drainJson(drainArgs);
  const v = dc.json?.verdict?.state;
  const said = (re) => { const m = re.exec(last); return m ? Number(m[1].replace(/,/g, '')) : 0; };
  if (twoRedis || scenario === 'ns-move') {
    if (scenario === 'move-classes') {
      const garbageLeft = found.filter((f) => classOf(f.bytes) === null && f.where.startsWith(`${src.port}/`)).length;
      if (said(/([\d,]+) left in place/) !== garbageLeft || !/^Done, but jobs were left behind: [\d,]+ left in place \(/.test(last)) problems.push(`words: "${last}" but ${garbageLeft} unparsable left`);
      if (dc.json?.selection?.left !== 0 || dc.json?.selection?.drained !== true) problems.push(`classes drain-check: ${JSON.stringify(dc.json?.selection)}`);
    } else if (!/^Complete/.test(last)) problems.push(`last line: ${last}`);
    if (scenario !== 'move-classes' && (v !== 'drained' || dc.json.remaining !== 0)) problems.push(`drain-check ${v} remaining ${dc.json?.remaining} ${JSON.stringify(dc.json?.verdict)}`);
    if (scenario === 'move-classes') extra = `classes-drain=${v}/${dc.json?.remaining}/${JSON.stringify(dc.json?.classes ?? dc.json?.selection ?? null).slice(0, 200)}`;
  } else {
    if (scenario === 'run' || scenario === 'run-append') {
      if (said(/([\d,]+) left in place/) !== truth.leftInPlace) problems.push(`words: "${last}" but ${truth.leftInPlace} left in place`);
      if (said(/([\d,]+) quarantined/) + said(/([\d,]+) in quarantine lists from earlier/) !== truth.quarantined) problems.push(`words: "${last}" but ${truth.quarantined} quarantined`);
    }
    if (said(/([\d,]+) arrived on retired/) !== 0 && truth.onRetired === 0) problems.push(`words: "${last}" says arrived, none on retired queues`);
    const nothingLeft = truth.onRetired + truth.quarantined + truth.inflight === 0;
    if (/^Complete/.test(last) && (truth.quarantined + truth.leftInPlace + truth.inflight > 0)) problems.push(`Complete over ${JSON.stringify(truth)}`);
    if ((v === 'drained') !== nothingLeft) problems.push(`drain-check ${v} (remaining ${dc.json?.remaining}) over ${JSON.stringify(truth)}: ${JSON.stringify(dc.json?.verdict)}`);
    extra = `truth=${JSON.stringify(truth)} drain=${v}/${dc.json?.remaining}`;
  }
  log(`${scenario} #${n} seed=${trialSeed} jobs=${world.jobs.size} consumed=${world.consumed.length} page=${pageSize} append=${append} unmapped=${unmapped} kills=${landed}/${kills} [${record.join(' ')}] last="${last.slice(0, 140)}" ${extra} ${problems.length ? 'FAIL' : 'ok'}`);
  if (problems.length) { log(`  args: ${args.join(' ')}`); for (const p of problems.slice(0, 25)) log(`  ${p}`); if (problems.length > 25) log(`  … ${problems.length - 25} more`); log(`  final out:\n${fin.out}`); }
  for (const s of servers) { s.client.disconnect(); s.proc.kill('SIGKILL'); }
  await sleep(200);
  return { ok: problems.length === 0, landed };
}

let fails = 0, landedAll = 0;
for (let i = 0; i < TRIALS; i++) {
  const r = await trial(i);
  if (!r.ok) fails++;
  landedAll += r.landed;
}
log(`SUMMARY ${scenario}: ${TRIALS} trials, ${landedAll} kills landed, ${fails} failed`);
process.exit(0);
