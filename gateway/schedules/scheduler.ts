// Runs the functions that have a `schedule:` through the one invoke path, with
// `context.trigger = { kind: "schedule", scheduledAt, schedule, catchUp }`. It follows the registry
// (a schedule starts when its function deploys, changes with its manifest, stops when it goes), and
// each tick runs on one gateway of those sharing Redis (ticks.ts). A tick missed while no gateway
// ran is dropped, unless the schedule has catch_up: then the latest missed tick runs once when a
// gateway picks the schedule up. A run that fails is logged and counted, never retried; a tick that
// comes while this gateway's previous run of the function is still going is skipped (and counted).
import { Counter, type Registry as PromRegistry } from 'prom-client';
import { isTitanError } from '../../runtime/errors.ts';
import type { Registry } from '../../runtime/registry.ts';
import { missedTick, nextTick, type ScheduleSpec } from '../../runtime/schedule.ts';
import type { Invoke } from '../invoke.ts';
import type { TickStore } from './ticks.ts';

/** Timers, injectable so catch_up and skipping can be tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** setTimeout's ceiling (about 24.8 days): a later tick is waited for in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  registry: Pick<Registry, 'list' | 'get' | 'on' | 'off'>;
  invoke: Invoke;
  ticks: TickStore;
  promRegistry?: PromRegistry;
  log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  clock?: Clock;
}

interface Job {
  fn: string;
  spec: ScheduleSpec;
  /** what makes two schedules the same one: a changed manifest schedule restarts it */
  key: string;
  timer?: unknown;
  running?: Promise<void>;
}

export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly runs = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly counter: Counter<'function' | 'outcome'>;
  private closed = false;
  private readonly onChange = () => this.sync();

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.counter = new Counter({
      name: 'titan_schedule_runs_total',
      help: 'Scheduled runs this gateway started, by outcome (ok, an error code, or skipped: the previous run was still going)',
      labelNames: ['function', 'outcome'],
      registers: opts.promRegistry ? [opts.promRegistry] : [],
    });
  }

  start(): void {
    this.opts.registry.on('change', this.onChange);
    this.sync();
  }

  /** The functions scheduled now, with their next tick: for tests and the API. */
  scheduled(): Array<{ fn: string; schedule: string }> {
    return [...this.jobs.values()].map((j) => ({ fn: j.fn, schedule: j.spec.expr }));
  }

  /** Brings the jobs in line with the deployed functions' schedules. */
  sync(): void {
    if (this.closed) return;
    const wanted = new Map<string, ScheduleSpec>();
    for (const { name } of this.opts.registry.list()) {
      const schedule = this.opts.registry.get(name)?.spec.schedule;
      if (schedule) wanted.set(name, schedule);
    }
    for (const [fn, job] of this.jobs) {
      if (wanted.get(fn) && keyOf(wanted.get(fn)!) === job.key) continue;
      this.clock.clearTimeout(job.timer);
      this.jobs.delete(fn);
      this.opts.log('info', 'schedule stopped', { fn, schedule: job.spec.expr });
    }
    for (const [fn, spec] of wanted) {
      if (this.jobs.has(fn)) continue;
      const job: Job = { fn, spec, key: keyOf(spec) };
      this.jobs.set(fn, job);
      this.opts.log('info', 'schedule started', {
        fn,
        schedule: spec.expr,
        ...(spec.tz ? { tz: spec.tz } : {}),
        catch_up: spec.catchUp,
      });
      this.arm(job, this.clock.now());
      if (spec.catchUp) this.track(this.catchUp(job));
    }
  }

  private arm(job: Job, after: number): void {
    const at = nextTick(job.spec, after);
    if (at === undefined) return; // a cron that never fires again
    const wait = (target: number) => {
      job.timer = this.clock.setTimeout(
        () => {
          if (this.jobs.get(job.fn) !== job || this.closed) return;
          const now = this.clock.now();
          if (now < target) return wait(target); // woke early (a long wait in steps, or a timer's jitter)
          // The next tick after the later of this one and now: ticks passed while the loop was stalled are dropped.
          this.arm(job, Math.max(target, now));
          this.track(this.run(job, target, false));
        },
        Math.min(MAX_DELAY_MS, Math.max(0, target - this.clock.now())),
      );
    };
    wait(at);
  }

  /** catch_up: the latest tick missed since the last recorded run, once; nothing if it never ran. */
  private async catchUp(job: Job): Promise<void> {
    let last: number | undefined;
    try {
      last = await this.opts.ticks.lastRun(job.fn);
    } catch (err) {
      this.opts.log('warn', 'schedule catch-up skipped: the last run could not be read', {
        fn: job.fn,
        err: (err as Error).message,
      });
      return;
    }
    if (last === undefined) return;
    const missed = missedTick(job.spec, last, this.clock.now());
    if (missed !== undefined) await this.run(job, missed, true);
  }

  private async run(job: Job, at: number, catchUp: boolean): Promise<void> {
    const { fn, spec } = job;
    if (job.running) {
      this.counter.inc({ function: fn, outcome: 'skipped' });
      this.opts.log('warn', 'scheduled run skipped: the previous one is still running', {
        fn,
        scheduledAt: new Date(at).toISOString(),
      });
      return;
    }
    let mine: boolean;
    try {
      mine = await this.opts.ticks.claim(fn, at);
    } catch (err) {
      // Without a claim the tick could run twice (or, with Redis gone, everywhere): skip it instead.
      this.counter.inc({ function: fn, outcome: 'unclaimed' });
      this.opts.log('warn', 'scheduled run skipped: the tick could not be claimed', {
        fn,
        scheduledAt: new Date(at).toISOString(),
        err: (err as Error).message,
      });
      return;
    }
    if (!mine || this.jobs.get(fn) !== job) return; // another gateway runs it
    const scheduledAt = new Date(at).toISOString();
    const trigger = { kind: 'schedule' as const, scheduledAt, schedule: spec.expr, catchUp };
    job.running = (async () => {
      let outcome = 'ok';
      try {
        await this.opts.invoke({ name: fn, eventJson: spec.eventJson, trigger });
      } catch (err) {
        outcome = isTitanError(err) ? err.code : 'sandbox_error';
        this.opts.log('warn', 'scheduled run failed (not retried)', {
          fn,
          scheduledAt,
          outcome,
          err: (err as Error).message,
        });
      } finally {
        this.counter.inc({ function: fn, outcome });
        job.running = undefined;
      }
    })();
    await job.running;
  }

  private track(p: Promise<void>): void {
    const t = p.catch(() => {}).finally(() => this.runs.delete(t));
    this.runs.add(t);
  }

  /** Stops every timer; resolves once the runs under way have ended. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.opts.registry.off('change', this.onChange);
    for (const job of this.jobs.values()) this.clock.clearTimeout(job.timer);
    this.jobs.clear();
    while (this.runs.size) await Promise.all(this.runs);
  }
}

const keyOf = (s: ScheduleSpec): string => JSON.stringify([s.expr, s.tz, s.catchUp, s.eventJson]);
