/**
 * Where each Lua call of a queue slice should look for its jobs (rerouteQueueJobs-n4.lua's
 * `~BELOW:SPAN`). The script LREMs each job from the end of the list nearer the jobs it was
 * given: it reads the list's length and takes the jobs above them to be `LLEN - BELOW - SPAN`.
 *
 * Why per call, not the slice's window: a slice's window is split into calls of 50 jobs, run one
 * after another, and examined from one end (`front`: head first, `append`: tail first). With the
 * window's figures the last slice of a `front` pass (nothing below its window) sent its first
 * calls to the tail, and an `append` pass its later calls to the head, the far end from the jobs
 * each removes first: each LREM walked past the rest of the window, up to 1,000 jobs (on the
 * bench's queues the longest calls, 0.7 ms where the others take 0.2 ms). Given the span of its own jobs and what lies below
 * them once the earlier calls have removed theirs, a call walks at most past its own span's jobs,
 * whichever end the others lie at. Only the walk's length depends on it: LREM removes the job's
 * bytes from either end, so every outcome is the same job moved exactly once.
 *
 * `below`: jobs under the window when it was read; `span`: the window's size; `places`: per call,
 * in call order, each job's place in the window (how many of the window's jobs lay between it and
 * the tail). Assumes each call removes all of its jobs (those a worker took are gone either way).
 */
export function callWindows(below: number, span: number, places: readonly (readonly number[])[]): string[] {
  // The window's jobs still present, counted by place in a Fenwick tree: a call's figures in
  // O(log span), where a pass over the window per call costs O(span), span / 50 steps a job (200
  // at the largest page, 10,000 jobs).
  const present = new Int32Array(span + 1);
  const add = (place: number, n: number) => {
    for (let i = place + 1; i <= span; i += i & -i) present[i]! += n;
  };
  const under = (place: number) => {
    let n = 0;
    for (let i = place; i > 0; i -= i & -i) n += present[i]!;
    return n;
  };
  for (let i = 1; i <= span; i++) present[i] = i & -i; // every place present: node i covers i & -i of them
  const gone = new Uint8Array(span);
  return places.map((call) => {
    let low = span;
    let high = -1;
    for (const place of call) {
      if (place < low) low = place;
      if (place > high) high = place;
    }
    const belowCall = under(low);
    const within = under(high + 1) - belowCall;
    for (const place of call) {
      if (gone[place]) continue;
      gone[place] = 1;
      add(place, -1);
    }
    return `~${below + belowCall}:${within}`;
  });
}
