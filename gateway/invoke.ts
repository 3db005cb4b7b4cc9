// The one invoke path. HTTP, async and event invocations all come through here, so validation,
// deadlines, pools, metrics and the per-invocation log line are the same for every trigger.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { InvocationResult } from '../runtime/deployment.ts';
import type { Emit } from '../runtime/protocol.ts';
import { TitanError, isTitanError } from '../runtime/errors.ts';
import { NAME_PATTERN } from '../runtime/manifest.ts';
import type { Metrics } from '../runtime/metrics.ts';
import type { Registry } from '../runtime/registry.ts';
import type { HttpMethod } from '../runtime/spec.ts';
import { STATUS } from './http-errors.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts';

/** `route: 'function'`: a call to `/function/<name>/<path>`; `{ kind: 'http' }` alone is `POST /functions/:name/invoke`. */
export type HttpTrigger =
  | { kind: 'http' }
  | { kind: 'http'; route: 'function'; method: HttpMethod; path: string };
/** `schedule`: a tick of the manifest's `schedule:` (gateway/schedules/); catchUp when it runs a missed one late. */
export type ScheduleTrigger = {
  kind: 'schedule';
  scheduledAt: string;
  schedule: string;
  catchUp: boolean;
};
export type Trigger =
  | HttpTrigger
  | { kind: 'event'; topic: string; eventType: string; messageId: string }
  | { kind: 'async' }
  | ScheduleTrigger;

export interface InvokeRequest {
  name: string;
  /** the event as JSON text; validated here, then passed to the container without re-serialising */
  eventJson: string;
  /** the gateway wrote eventJson itself (JSON.stringify of a shallow object): no need to parse it again */
  eventIsGatewayJson?: boolean;
  trigger: Trigger;
  /**
   * `/function/<name>` reads its HTTP answer here, before the call counts as done: what it throws is
   * the invocation's outcome (and nothing the function emitted is published); the status it
   * returns is counted by method and status class.
   */
  readAnswer?: (resultJson: string) => number;
  invocationId?: string;
  /** absolute epoch ms; defaults to now + the function's timeout */
  deadline?: number;
}

export interface InvokeOutcome extends InvocationResult {
  invocationId: string;
  durationMs: number;
}

export interface InvokerDeps {
  registry: Registry;
  metrics: Metrics;
  log: Logger;
  /** appends what a function emitted to its topics; runs after the invocation succeeded */
  publishEmits?: (fn: string, emits: Emit[]) => Promise<void>;
  newId?: () => string;
}

export type Invoke = (req: InvokeRequest) => Promise<InvokeOutcome>;

export function validateName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TitanError(
      'invalid_name',
      `invalid function name ${JSON.stringify(name)}: names match ${NAME_PATTERN.source}`,
    );
  }
}

/** Throws invalid_json unless `text` is one JSON value nested at most MAX_JSON_DEPTH deep; empty means `null`. */
export function checkEventJson(text: string): string {
  if (text.trim() === '') return 'null';
  try {
    JSON.parse(text);
  } catch (err) {
    throw new TitanError(
      'invalid_json',
      `request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (nestsDeeperThan(text)) {
    throw new TitanError(
      'invalid_json',
      `request body nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep`,
      { max_depth: MAX_JSON_DEPTH },
    );
  }
  return text;
}

/** Looks a function up; a listed but broken one is refused with the reason it is broken. */
export function resolveFunction(registry: Registry, name: string) {
  validateName(name);
  const dep = registry.get(name);
  if (dep) return dep;
  const reason = registry.invalidReason(name);
  if (reason) throw new TitanError('function_invalid', `function '${name}' is invalid: ${reason}`);
  throw new TitanError('not_found', `no function named '${name}'`);
}

export function createInvoker({
  registry,
  metrics,
  log,
  publishEmits,
  newId = randomUUID,
}: InvokerDeps): Invoke {
  // Label objects per function, made once and never changed (prom-client keeps the first it sees as
  // its series' labels): fewer objects per call. Only listed names get here, as for the series.
  const labels = new Map<
    string,
    { fn: { function: string }; ok: { function: string; outcome: string } }
  >();
  const labelsOf = (name: string) => {
    let l = labels.get(name);
    if (!l) {
      l = { fn: { function: name }, ok: { function: name, outcome: 'ok' } };
      labels.set(name, l);
    }
    return l;
  };

  return async function invoke(req) {
    const started = performance.now();
    const invocationId = req.invocationId ?? newId();
    let outcome = 'ok';
    let cold = false;
    let status = 200;
    try {
      const dep = resolveFunction(registry, req.name);
      const eventJson = req.eventIsGatewayJson ? req.eventJson : checkEventJson(req.eventJson);
      const deadline = req.deadline ?? Date.now() + dep.spec.timeoutMs;
      const result = await dep.invoke(eventJson, { invocationId, deadline, trigger: req.trigger });
      cold = result.cold;
      if (cold) metrics.coldStarts.inc({ function: req.name });
      metrics.poolWait.observe(labelsOf(req.name).fn, result.waitMs / 1000);
      if (req.readAnswer) status = req.readAnswer(result.resultJson);
      if (result.emits.length > 0) {
        if (!publishEmits)
          throw new TitanError(
            'events_unavailable',
            `function '${req.name}' emitted events, but events are not configured`,
          );
        await publishEmits(req.name, result.emits);
      }
      return {
        resultJson: result.resultJson,
        emits: result.emits,
        cold,
        waitMs: result.waitMs,
        invocationId,
        durationMs: performance.now() - started,
      };
    } catch (caught) {
      let err = caught;
      // A handler that never loaded (either runtime) is named as a broken manifest or build is.
      if (
        isTitanError(err) &&
        err.code === 'function_invalid' &&
        !err.message.startsWith(`function '${req.name}' is invalid`)
      ) {
        err = new TitanError(
          'function_invalid',
          `function '${req.name}' is invalid: ${err.message}`,
          err.details,
        );
      }
      outcome = isTitanError(err) ? err.code : 'sandbox_error';
      status = isTitanError(err) ? STATUS[err.code] : 500;
      if (err instanceof Error && !isTitanError(err))
        log.error({ err, invocationId, fn: req.name }, 'unexpected invoke failure');
      throw err;
    } finally {
      const durationMs = performance.now() - started;
      // Unknown names are not counted per function: a scanner must not be able to grow our label set.
      if (outcome !== 'not_found' && outcome !== 'invalid_name') {
        const fn = labelsOf(req.name);
        metrics.invocations.inc(outcome === 'ok' ? fn.ok : { function: req.name, outcome });
        metrics.duration.observe(fn.fn, durationMs / 1000);
        // Bounded: a route's methods are HTTP_METHODS (others are refused before they get here), five classes.
        if ('route' in req.trigger)
          metrics.httpInvocations.inc({
            function: req.name,
            method: req.trigger.method,
            status_class: `${Math.floor(status / 100)}xx`,
          });
      }
      // The same fields in the same order for every trigger; route and method for /function calls.
      const t = req.trigger;
      const ms = Math.round(durationMs * 1000) / 1000;
      log.info(
        'route' in t
          ? {
              invocationId,
              fn: req.name,
              trigger: t.kind,
              route: t.route,
              method: t.method,
              outcome,
              durationMs: ms,
              cold,
            }
          : { invocationId, fn: req.name, trigger: t.kind, outcome, durationMs: ms, cold },
        'invocation',
      );
    }
  };
}
