import { describe, expect, it } from 'vitest';
import { expectExactJobs, jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A transfer's set passes said how many entries they left in the source's `schedule`, `retry` and
// `dead` (conflicts, a selection's other classes, unparsable entries), never which queues they
// name. The source's Sidekiq pushes each to that queue on the source when due: an operator retiring
// the old Redis needs to know which queues' jobs stay in which set. Each pass now counts what its
// set holds when it ends, by the queue each entry names (bounded), and the summary names them.
const both = privateSourceAndTarget();
const job = (className: string, queue: string, i: number) => sidekiqPayload({ className, queue, args: `[${i}]`, jid: `${className}${i}`.padStart(24, '0') });
const last = (text: string) => text.trimEnd().split('\n').at(-1);
const due = 1_900_000_000;
const tail = "The source's Sidekiq pushes each to that queue on the source when due (a dead one: when retried); the old Redis is not empty while they are there (the lines above say why they stayed; drain-check of the source counts them).";
const line = (sets: string) => `Left in the source's sets when their pass ended, by the queue each entry names: ${sets}. ${tail}`;
// A selection's: its other classes' entries stay by design, and no line above says why (the walk of
// docs/runbooks/sidekiq-shard.md: after `Complete: no job of the selected classes was on the source`).
const selectiveTail = "The source's Sidekiq pushes each to that queue on the source when due (a dead one: when retried); the old Redis is not empty while they are there (the entries of classes not selected stay there by design; the lines above say why any other stayed; drain-check of the source counts them).";
const selectiveLine = (sets: string) => `Left in the source's sets when their pass ended, by the queue each entry names: ${sets}. ${selectiveTail}`;

describe("a move's set entries left on the source, named by set and queue", { timeout: 180_000 }, () => {
  it('a whole-set move: the conflicts it gave back, by set and queue, exit 0, every job where it was', async () => {
    const [source, target] = [both.source(), both.target()];
    const c1 = job('A', 'mailers', 1);
    const c2 = job('B', 'post_receive', 2);
    const c3 = job('C', 'mailers', 3);
    const moved = job('D', 'default', 4);
    await source.zadd('schedule', String(due + 1), c1, String(due + 2), c2, String(due + 4), moved);
    await source.zadd('retry', String(due + 3), c3);
    // Their exact bytes are in the target's sets already (a copy made by hand, an earlier move).
    await target.zadd('schedule', String(due + 1), c1, String(due + 2), c2);
    await target.zadd('retry', String(due + 3), c3);

    const move = await runCli('move', '--from', both.urls().source, '--to', both.urls().target);

    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toContain(line('schedule 2 (mailers 1 · post_receive 1); retry 1 (mailers 1)'));
    expect(last(move.stdout)).toBe('Done, but jobs were left behind: 3 left in place (see "Needs a look" above).');
    await expectExactJobs(source, '', [jobEntry('schedule', c1, due + 1), jobEntry('schedule', c2, due + 2), jobEntry('retry', c3, due + 3)]);
    await expectExactJobs(target, '', [jobEntry('schedule', c1, due + 1), jobEntry('schedule', c2, due + 2), jobEntry('retry', c3, due + 3), jobEntry('schedule', moved, due + 4)]);
  });

  it('move --classes: the other classes, unparsable entries and a conflict, by set and queue, and in --json', async () => {
    const [source, target] = [both.source(), both.target()];
    const taken = job('A', 'old', 0);
    const conflict = job('A', 'old', 9);
    const broken = '{"class":"B","queue":"post_rec';
    const others = [jobEntry('schedule', job('B', 'post_receive', 1), due + 1), jobEntry('retry', job('B', 'post_receive', 2), due + 2), jobEntry('dead', job('C', 'mailers', 3), due + 3)];
    await source.zadd('schedule', String(due), taken, String(due + 1), job('B', 'post_receive', 1));
    await source.zadd('retry', String(due + 2), job('B', 'post_receive', 2), String(due + 4), broken);
    await source.zadd('dead', String(due + 3), job('C', 'mailers', 3), String(due + 5), conflict);
    await target.zadd('dead', String(due + 5), conflict);
    const left = [...others, jobEntry('retry', broken, due + 4), jobEntry('dead', conflict, due + 5)];

    const move = await runCli('move', '--from', both.urls().source, '--to', both.urls().target, '--classes', 'A');

    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toContain(selectiveLine('schedule 1 (post_receive 1); retry 2 ((unparsable) 1 · post_receive 1); dead 2 (mailers 1 · old 1)'));
    expect(last(move.stdout)).toBe('Done, but jobs were left behind: 2 left in place, 1 of them in sets naming no queue it can read (see "Needs a look" above).');
    await expectExactJobs(source, '', left);
    await expectExactJobs(target, '', [jobEntry('schedule', taken, due), jobEntry('dead', conflict, due + 5)]);

    // Again: nothing of A left to take, the same entries named, in --json's totals and per set.
    const json = await runCli('move', '--from', both.urls().source, '--to', both.urls().target, '--classes', 'A', '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { totals: { leftInSets?: unknown }; sets: Record<string, { leftInSets?: unknown }> };
    expect(parsed.totals.leftInSets).toEqual({ schedule: { post_receive: 1 }, retry: { '(unparsable)': 1, post_receive: 1 }, dead: { mailers: 1, old: 1 } });
    expect(parsed.sets['retry']?.leftInSets).toEqual({ retry: { '(unparsable)': 1, post_receive: 1 } });
    await expectExactJobs(source, '', left);
  });

  it('bounded: the largest five queues of a set, then the rest in one count; --verbose names every queue counted by name', async () => {
    const [source, target] = [both.source(), both.target()];
    const seeded: string[] = [];
    // 25 queues of other classes in `schedule` (q00 has 3 entries, q01 2, the others 1): 28 entries.
    let i = 0;
    for (let q = 0; q < 25; q++) {
      for (let k = 0; k < (q === 0 ? 3 : q === 1 ? 2 : 1); k++, i++) {
        const entry = job('B', `q${String(q).padStart(2, '0')}`, i);
        await source.zadd('schedule', String(due + i), entry);
        seeded.push(jobEntry('schedule', entry, due + i));
      }
    }
    const before = await jobsIn(source);

    const move = await runCli('move', '--from', both.urls().source, '--to', both.urls().target, '--classes', 'A');

    expect(move.code, move.stderr).toBe(0);
    // Twenty queues counted by name (read in score order), the last five added up (MAX_LEFT_QUEUES).
    expect(move.stdout).toContain(selectiveLine('schedule 28 (q00 3 · q01 2 · q02 1 · q03 1 · q04 1 · … and 16+ more queue(s), 20 entries)'));
    expect(last(move.stdout)).toBe('Complete: no job of the selected classes was on the source; nothing was moved.');
    const verbose = await runCli('move', '--from', both.urls().source, '--to', both.urls().target, '--classes', 'A', '--verbose');
    expect(verbose.code, verbose.stderr).toBe(0);
    const named = Array.from({ length: 18 }, (_, q) => `q${String(q + 2).padStart(2, '0')} 1`).join(' · ');
    expect(verbose.stdout).toContain(selectiveLine(`schedule 28 (q00 3 · q01 2 · ${named} · … and 1+ more queue(s), 5 entries)`));
    expect(await jobsIn(source)).toEqual(before);
    await expectExactJobs(source, '', seeded);
    await expectExactJobs(target, '', []);
  });
});
