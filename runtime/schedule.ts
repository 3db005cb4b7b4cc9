// A function's schedule: the manifest's `schedule:` (its valibot schema, part of ManifestSchema) and
// when it fires. Cron expressions are croner's (5 fields, or 6 with seconds; nicknames such as
// @hourly); `@every <duration>` fires at multiples of the duration since the epoch, so every gateway
// computes the same tick times, which is what lets them claim each tick once (gateway/schedules/).
import { Cron } from 'croner';
import * as v from 'valibot';
import { strictObject } from './schema-util.ts';

/** No schedule fires more often than this: a manifest cannot turn the scheduler into a flood. */
export const MIN_INTERVAL_MS = 1000;
/** `event:` travels in every scheduled invocation; kept small like `config:`. */
export const MAX_SCHEDULE_EVENT_BYTES = 64 * 1024;

export interface ScheduleSpec {
  /** as written: a cron expression, a nickname, or `@every <duration>` */
  expr: string;
  /** for `@every`: the period */
  everyMs?: number;
  /** IANA time zone a cron expression is read in; default UTC */
  tz?: string;
  /** run the latest tick missed while no gateway ran (at most one run), once a gateway runs it again */
  catchUp: boolean;
  /** the event each run gets, as JSON */
  eventJson: string;
}

const EVERY = /^@every\s+(\S+)$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1h30m`, `10s`, `500ms` (Go's duration syntax, whole numbers): milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const fieldCount = (expr: string): number => expr.trim().split(/\s+/).length;

/** Why an expression cannot be a schedule, or undefined. */
export function exprProblem(expr: string, tz?: string): string | undefined {
  const every = EVERY.exec(expr.trim());
  if (every) {
    const ms = parseDuration(every[1]!);
    if (ms === undefined)
      return `'${expr}': @every takes a duration such as 30s, 5m, 1h30m or 500ms`;
    if (ms < MIN_INTERVAL_MS)
      return `'${expr}' is more often than the minimum interval of ${MIN_INTERVAL_MS / 1000} s`;
    return undefined;
  }
  if (!expr.trim().startsWith('@') && ![5, 6].includes(fieldCount(expr))) {
    const n = fieldCount(expr);
    return `'${expr}' has ${n} field${n === 1 ? '' : 's'}: a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)`;
  }
  try {
    const cron = new Cron(expr, { paused: true, ...(tz ? { timezone: tz } : {}) });
    if (!cron.nextRun()) return `'${expr}' never fires`;
    return undefined;
  } catch (err) {
    return `'${expr}' is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`;
  }
}

export const isTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const Expr = v.pipe(
  v.string(),
  v.minLength(1),
  v.check(
    (e) => exprProblem(e) === undefined,
    (i) => exprProblem(String(i.input))!,
  ),
);
const jsonSize = (x: unknown): number => Buffer.byteLength(JSON.stringify(x) ?? '');

const ScheduleObject = strictObject({
  cron: Expr,
  tz: v.optional(
    v.pipe(
      v.string(),
      v.check(
        isTimeZone,
        (i) =>
          `must be an IANA time zone such as Europe/Paris or UTC (got ${JSON.stringify(i.input)})`,
      ),
    ),
  ),
  catch_up: v.optional(v.boolean(), false),
  event: v.optional(
    v.pipe(
      v.unknown(),
      v.check(
        (e) => jsonSize(e) <= MAX_SCHEDULE_EVENT_BYTES,
        (i) =>
          `must be at most ${MAX_SCHEDULE_EVENT_BYTES} bytes as JSON (got ${jsonSize(i.input)})`,
      ),
    ),
  ),
});

/** `schedule: "*\/5 * * * *"`, or `schedule: { cron, tz?, catch_up?, event? }`. */
export const ScheduleSchema = v.pipe(
  v.custom<string | Record<string, unknown>>(
    (s) => typeof s === 'string' || (typeof s === 'object' && s !== null && !Array.isArray(s)),
    (i) =>
      `must be a cron expression, '@every <duration>', or a mapping with cron (and tz, catch_up, event) (got ${JSON.stringify(i.input)})`,
  ),
  v.transform((s) => (typeof s === 'string' ? { cron: s } : s)),
  ScheduleObject,
  // The expression alone was checked in UTC; a time zone can make a valid one fail (croner's DST rules).
  v.check(
    (s) => exprProblem(s.cron, s.tz) === undefined,
    (i) => exprProblem(i.input.cron, i.input.tz)!,
  ),
);

export type ScheduleInput = v.InferOutput<typeof ScheduleSchema>;

/** The manifest's schedule in the form the scheduler uses. */
export function toScheduleSpec(s: ScheduleInput): ScheduleSpec {
  const expr = s.cron.trim();
  const every = EVERY.exec(expr);
  return {
    expr,
    ...(every ? { everyMs: parseDuration(every[1]!)! } : {}),
    ...(s.tz ? { tz: s.tz } : {}),
    catchUp: s.catch_up,
    eventJson: JSON.stringify(s.event ?? {}),
  };
}

/** The first tick strictly after `afterMs` (epoch ms), or undefined when there is none. */
export function nextTick(s: ScheduleSpec, afterMs: number): number | undefined {
  if (s.everyMs) return (Math.floor(afterMs / s.everyMs) + 1) * s.everyMs;
  return cronOf(s).nextRun(new Date(afterMs))?.getTime();
}

/**
 * With catch_up, the one tick to run now for those missed since `lastRunMs`: the latest tick after
 * it and at or before `nowMs`. Earlier missed ticks are dropped (at most one catch-up run).
 */
export function missedTick(s: ScheduleSpec, lastRunMs: number, nowMs: number): number | undefined {
  if (s.everyMs) {
    const latest = Math.floor(nowMs / s.everyMs) * s.everyMs;
    return latest > lastRunMs ? latest : undefined;
  }
  const [latest] = cronOf(s).previousRuns(1, new Date(nowMs + 1));
  return latest && latest.getTime() > lastRunMs ? latest.getTime() : undefined;
}

const cronOf = (s: ScheduleSpec): Cron =>
  new Cron(s.expr, { paused: true, ...(s.tz ? { timezone: s.tz } : {}) });
