import { z } from 'zod';
import { parseRedisUrl } from '../redis/redis-url.js';

/** `sidekiq-migrate drain-check`: one Redis, optionally the previous report and the retired queues. */
export const drainCheckOptionsSchema = z.strictObject({
  redis: z
    .string({ error: 'required: the Redis URL to check' })
    .min(1)
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url, '--redis');
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message.replace('--redis ', '') });
      }
    }),
  namespace: z.string().default(''),
  previous: z.string().min(1).optional(),
  save: z.string().min(1).optional(),
  retiredQueues: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((q) => q.trim()).filter(Boolean))),
  tlsCa: z.string().min(1).optional(),
  json: z.boolean().default(false),
});
