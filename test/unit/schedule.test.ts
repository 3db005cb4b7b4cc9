// Schedules without waiting: the manifest's `schedule:` (valid shapes, clear reasons for bad cron
// expressions, time zones and intervals under the minimum), tick arithmetic, and the scheduler on a
// fake clock with an in-memory tick store: catch_up runs the latest missed tick once (and nothing
// without it), a run still going skips the next tick, a changed or removed schedule stops.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { Scheduler, type Clock, type SchedulerOptions } from '../../gateway/schedules/scheduler.ts';
import { LocalTicks } from '../../gateway/schedules/ticks.ts';
import type { InvokeRequest } from '../../gateway/invoke.ts';
import { defaultConfig } from '../../runtime/config.ts';
import { TitanError } from '../../runtime/errors.ts';
import { resolveManifest } from '../../runtime/manifest.ts';
import { missedTick, nextTick, parseDuration, type ScheduleSpec } from '../../runtime/schedule.ts';
import type { Registry } from '../../runtime/registry.ts';

const config = defaultConfig('/tmp/titan-unit');
const resolve = (schedule: unknown) =>
  resolveManifest({ schedule }, { dir: '/tmp', folderName: 'job', config }).schedule;
const problem = (schedule: unknown): string => {
  try {
    resolve(schedule);
  } catch (err) {
    assert.ok(err instanceof TitanError && err.code === 'invalid_manifest');
    return err.message;
  }
  assert.fail(`${JSON.stringify(schedule)} was accepted`);
};
const T0 = Date.parse('2026-03-01T10:00:00Z');

describe('manifest schedule:', () => {
  test('a string or a mapping; cron with 5 or 6 fields, nicknames, @every', () => {
    assert.deepEqual(resolve('*/5 * * * *'), {
      expr: '*/5 * * * *',
      catchUp: false,
      eventJson: '{}',
    });
    assert.deepEqual(resolve('*/10 * * * * *')?.expr, '*/10 * * * * *');
    assert.deepEqual(resolve('@hourly')?.expr, '@hourly');
    assert.deepEqual(resolve('@every 1m30s'), {
      expr: '@every 1m30s',
      everyMs: 90_000,
      catchUp: false,
      eventJson: '{}',
    });
    assert.deepEqual(
      resolve({
        cron: '0 9 * * 1-5',
        tz: 'Europe/Paris',
        catch_up: true,
        event: { report: 'daily' },
      }),
      {
        expr: '0 9 * * 1-5',
        tz: 'Europe/Paris',
        catchUp: true,
        eventJson: '{"report":"daily"}',
      },
    );
    assert.equal(resolve(null), undefined, 'null: no schedule');
  });

  test('a bad cron expression is invalid with the reason', () => {
    assert.match(
      problem('61 * * * *'),
      /schedule\.cron: '61 \* \* \* \*' is not a valid cron expression: .*minute/,
    );
    assert.match(
      problem('* * *'),
      /schedule\.cron: '\* \* \*' has 3 fields: a cron expression has 5 .* or 6/,
    );
    assert.match(problem('* * * * * * 2030'), /has 7 fields/);
    assert.match(problem('@every soon'), /@every takes a duration such as 30s/);
    assert.match(problem(''), /schedule\.cron: must not be empty/);
    assert.match(
      problem(42),
      /schedule: must be a cron expression, '@every <duration>', or a mapping/,
    );
    assert.match(
      problem({ cron: '* * * * *', tz: 'Mars/Olympus' }),
      /schedule\.tz: must be an IANA time zone/,
    );
    assert.match(
      problem({ cron: '* * * * *', every: '1s' }),
      /schedule\.every: unknown key \(allowed keys: cron, tz, catch_up, event\)/,
    );
    assert.match(
      problem({ cron: '* * * * *', catch_up: 'yes' }),
      /schedule\.catch_up: must be true or false/,
    );
  });

  test('more often than once a second is refused', () => {
    assert.match(
      problem('@every 500ms'),
      /'@every 500ms' is more often than the minimum interval of 1 s/,
    );
    assert.match(problem('@every 0s'), /minimum interval/);
    assert.equal(resolve('@every 1s')?.everyMs, 1000, 'one second is the minimum');
    assert.match(problem({ cron: '@every 999ms' }), /minimum interval/);
  });

  test('an oversized event is refused', () => {
    assert.match(
      problem({ cron: '@hourly', event: { blob: 'x'.repeat(70_000) } }),
      /schedule\.event: must be at most 65536 bytes/,
    );
  });
});

describe('tick arithmetic', () => {
  const every = (ms: number, catchUp = false): ScheduleSpec => ({
    expr: `@every ${ms}ms`,
    everyMs: ms,
    catchUp,
    eventJson: '{}',
  });
  const cron = (expr: string, tz?: string): ScheduleSpec => ({
    expr,
    catchUp: true,
    eventJson: '{}',
    ...(tz ? { tz } : {}),
  });

  test('durations', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), undefined);
    assert.equal(parseDuration('s'), undefined);
  });

  test('@every ticks at multiples of the period since the epoch, the same on every gateway', () => {
    assert.equal(nextTick(every(60_000), T0), T0 + 60_000);
    assert.equal(nextTick(every(60_000), T0 + 1), T0 + 60_000);
    assert.equal(nextTick(every(7000), 10_500), 14_000);
  });

  test('cron in a time zone', () => {
    // 09:00 in Paris on 2026-03-02 is 08:00 UTC (CET, before the switch to summer time)
    assert.equal(
      new Date(nextTick(cron('0 9 * * *', 'Europe/Paris'), T0)!).toISOString(),
      '2026-03-02T08:00:00.000Z',
    );
    assert.equal(
      new Date(nextTick(cron('0 9 * * *'), T0)!).toISOString(),
      '2026-03-02T09:00:00.000Z',
    );
  });

  test('the missed tick is the latest one after the last run, at or before now; none when nothing was missed', () => {
    assert.equal(missedTick(cron('0 * * * *'), T0, T0 + 3.5 * 3_600_000), T0 + 3 * 3_600_000);
    assert.equal(missedTick(cron('0 * * * *'), T0, T0 + 30 * 60_000), undefined);
    assert.equal(missedTick(every(60_000), T0, T0 + 59_000), undefined);
    assert.equal(missedTick(every(60_000), T0, T0 + 10 * 60_000 + 5), T0 + 10 * 60_000);
  });
});

/** Timers that fire only when the test moves time on. */
class FakeClock implements Clock {
  private t: number;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private ids = 0;
  constructor(start: number) {
    this.t = start;
  }
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  /** Moves time on to `ms` later, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await new Promise((r) => setImmediate(r)); // what was resolved before settles first
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}

describe('scheduler on a fake clock', () => {
  const setup = (
    schedules: Record<string, ScheduleSpec>,
    opts: { start?: number; ticks?: LocalTicks; slow?: Promise<void> } = {},
  ) => {
    const clock = new FakeClock(opts.start ?? T0);
    const registry = Object.assign(new EventEmitter(), {
      list: () => Object.keys(schedules).map((name) => ({ name })),
      get: (name: string) =>
        schedules[name] ? { spec: { schedule: schedules[name] } } : undefined,
    }) as unknown as Pick<Registry, 'list' | 'get' | 'on' | 'off' | 'emit'>;
    const calls: InvokeRequest[] = [];
    const invoke = async (req: InvokeRequest) => {
      calls.push(req);
      await opts.slow;
      if (JSON.parse(req.eventJson).fail) throw new TitanError('function_error', 'it failed');
      return {} as Awaited<ReturnType<SchedulerOptions['invoke']>>;
    };
    const logs: string[] = [];
    const scheduler = new Scheduler({
      registry,
      invoke,
      ticks: opts.ticks ?? new LocalTicks(),
      clock,
      log: (_l, msg) => logs.push(msg),
    });
    const triggers = () => calls.map((c) => c.trigger as { scheduledAt: string; catchUp: boolean });
    return { clock, registry, scheduler, calls, triggers, logs, schedules };
  };
  const minutely = (catchUp: boolean, event: unknown = {}): ScheduleSpec => ({
    expr: '* * * * *',
    catchUp,
    eventJson: JSON.stringify(event),
  });

  test('fires at each tick through invoke, with the schedule trigger and the manifest event', async () => {
    const s = setup({ job: minutely(false, { hello: 1 }) });
    s.scheduler.start();
    await s.clock.advance(3 * 60_000);
    assert.deepEqual(
      s.triggers().map((t) => t.scheduledAt),
      ['2026-03-01T10:01:00.000Z', '2026-03-01T10:02:00.000Z', '2026-03-01T10:03:00.000Z'],
    );
    assert.deepEqual(s.calls[0], {
      name: 'job',
      eventJson: '{"hello":1}',
      trigger: {
        kind: 'schedule',
        scheduledAt: '2026-03-01T10:01:00.000Z',
        schedule: '* * * * *',
        catchUp: false,
      },
    });
    await s.scheduler.close();
  });

  test('catch_up: a restarted gateway runs the latest tick missed while none ran, once; without catch_up nothing', async () => {
    const ticks = new LocalTicks();
    const first = setup({ job: minutely(true) }, { ticks });
    first.scheduler.start();
    await first.clock.advance(60_000); // runs 10:01
    await first.scheduler.close();

    // Down from 10:01 to 10:07:30: 10:02 ... 10:07 were missed; only 10:07 runs, flagged catchUp.
    const second = setup({ job: minutely(true) }, { ticks, start: T0 + 7.5 * 60_000 });
    second.scheduler.start();
    await second.clock.advance(0);
    assert.deepEqual(second.triggers(), [
      {
        kind: 'schedule',
        scheduledAt: '2026-03-01T10:07:00.000Z',
        schedule: '* * * * *',
        catchUp: true,
      },
    ]);
    await second.clock.advance(30_000);
    assert.deepEqual(
      second
        .triggers()
        .map((t) => [t.scheduledAt, t.catchUp])
        .slice(1),
      [['2026-03-01T10:08:00.000Z', false]],
      'then on schedule',
    );
    await second.scheduler.close();

    const third = setup({ job: minutely(true) }, { ticks, start: T0 + 8.5 * 60_000 });
    third.scheduler.start();
    await third.clock.advance(0);
    assert.deepEqual(third.calls, [], 'nothing was missed since 10:08');
    await third.scheduler.close();

    const noCatchUp = setup({ job: minutely(false) }, { ticks, start: T0 + 30 * 60_000 });
    noCatchUp.scheduler.start();
    await noCatchUp.clock.advance(0);
    assert.deepEqual(noCatchUp.calls, [], 'missed ticks are not replayed without catch_up');
    await noCatchUp.scheduler.close();
  });

  test('catch_up with no run on record runs nothing at start', async () => {
    const s = setup({ job: minutely(true) }, { start: T0 + 30_000 });
    s.scheduler.start();
    await s.clock.advance(0);
    assert.deepEqual(s.calls, []);
    await s.scheduler.close();
  });

  test('a tick already claimed (another gateway) does not run here', async () => {
    const ticks = new LocalTicks();
    await ticks.claim('job', T0 + 60_000);
    const s = setup({ job: minutely(false) }, { ticks });
    s.scheduler.start();
    await s.clock.advance(2 * 60_000);
    assert.deepEqual(
      s.triggers().map((t) => t.scheduledAt),
      ['2026-03-01T10:02:00.000Z'],
    );
    await s.scheduler.close();
  });

  test('a run still going skips the next tick; a failed run is logged, not retried', async () => {
    let finish!: () => void;
    const slow = new Promise<void>((r) => (finish = r));
    const s = setup(
      { job: { expr: '@every 1s', everyMs: 1000, catchUp: false, eventJson: '{}' } },
      { slow },
    );
    s.scheduler.start();
    await s.clock.advance(3000);
    assert.equal(s.calls.length, 1, 'ticks 2 and 3 came while the first run was going');
    assert.equal(s.logs.filter((l) => l.startsWith('scheduled run skipped')).length, 2);
    finish();
    await s.clock.advance(1000);
    assert.equal(s.calls.length, 2);
    await s.scheduler.close();

    const f = setup({ bad: minutely(false, { fail: true }) });
    f.scheduler.start();
    await f.clock.advance(60_000);
    assert.equal(f.calls.length, 1);
    assert.ok(f.logs.includes('scheduled run failed (not retried)'));
    await f.clock.advance(30_000);
    assert.equal(f.calls.length, 1, 'not retried before the next tick');
    await f.scheduler.close();
  });

  test('a removed function or a changed schedule follows the registry; close stops every timer', async () => {
    const s = setup({ a: minutely(false), b: minutely(false) });
    s.scheduler.start();
    delete s.schedules.b;
    s.schedules.a = { expr: '@every 10s', everyMs: 10_000, catchUp: false, eventJson: '{}' };
    s.registry.emit('change');
    assert.deepEqual(s.scheduler.scheduled(), [{ fn: 'a', schedule: '@every 10s' }]);
    await s.clock.advance(60_000);
    assert.deepEqual(new Set(s.calls.map((c) => c.name)), new Set(['a']));
    assert.equal(s.calls.length, 6);
    await s.scheduler.close();
    await s.clock.advance(60_000);
    assert.equal(s.calls.length, 6, 'nothing after close');
  });
});
