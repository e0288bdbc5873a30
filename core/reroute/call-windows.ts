/**
 * Where each Lua call of a queue slice should look for its jobs (rerouteQueueJobs-n.lua's
 * `~BELOW:SPAN`). The script LREMs each job from the end of the list nearer the jobs it was
 * given: it reads the list's length and takes the jobs above them to be `LLEN - BELOW - SPAN`.
 *
 * Why per call, not the slice's window: a slice's window is split into calls of 50 jobs, run one
 * after another, and examined from one end (`front`: head first, `append`: tail first). With the
 * window's figures the last slice of a `front` pass (nothing below its window) sent every call
 * of a fresh list to the tail, so each LREM walked past the rest of the window, up to 1,000 jobs:
 * the call took 1-8 ms (the 2 ms ceiling). Given the span of its own jobs and what lies below
 * them once the earlier calls have removed theirs, a call walks at most past its own span's jobs,
 * whichever end the others lie at. Only the walk's length depends on it: LREM removes the job's
 * bytes from either end, so every outcome is the same job moved exactly once.
 *
 * `below`: jobs under the window when it was read; `span`: the window's size; `places`: per call,
 * in call order, each job's place in the window (how many of the window's jobs lay between it and
 * the tail). Assumes each call removes all of its jobs (those a worker took are gone either way).
 */
export function callWindows(below: number, span: number, places: readonly (readonly number[])[]): string[] {
  const removed = new Uint8Array(span);
  return places.map((call) => {
    let low = span;
    let high = -1;
    for (const place of call) {
      if (place < low) low = place;
      if (place > high) high = place;
    }
    let under = below;
    let within = 0;
    for (let place = 0; place <= high; place++) {
      if (removed[place]) continue;
      if (place < low) under++;
      else within++;
    }
    for (const place of call) removed[place] = 1;
    return `~${under}:${within}`;
  });
}
