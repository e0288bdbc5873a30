import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

/** The classes the selective-transfer tests select: a Sidekiq worker and an ActiveJob class. */
export const SELECTED = ['Move', 'MoveJob'];
const WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

/**
 * The i-th job of a mix on `queue`: every 7th unparsable, else by turns a selected Sidekiq worker
 * (Move), a staying one (Stay), ActiveJob wrapping a selected class (MoveJob, routed by `wrapped`)
 * and ActiveJob wrapping a staying one. `className`: the selected class it is taken as, if any.
 */
export function mixedJob(i: number, queue: string): { payload: string; className: string | null } {
  if (i % 7 === 6) return { payload: `{broken ${queue} ${i}`, className: null };
  const activeJob = (jobClass: string) =>
    sidekiqPayload({ className: WRAPPER, wrapped: jobClass, queue, args: `[{"job_class":"${jobClass}","queue_name":"${queue}","arguments":[${i}]}]` });
  switch (i % 4) {
    case 0:
      return { payload: sidekiqPayload({ className: 'Move', queue, args: `[${i}]` }), className: 'Move' };
    case 1:
      return { payload: sidekiqPayload({ className: 'Stay', queue, args: `[${i}]` }), className: null };
    case 2:
      return { payload: activeJob('MoveJob'), className: 'MoveJob' };
    default:
      return { payload: activeJob('StayJob'), className: null };
  }
}

/** Whether a payload is one of the selected classes' (as the tests build them). */
export function isSelected(payload: string | Buffer): boolean {
  const text = payload.toString();
  return text.includes('"class":"Move"') || text.includes('"wrapped":"MoveJob"');
}
