// What may be appended to a topic: the topic's form and the reserved namespace (one rule for
// POST /events/:topic, file sources and context.emit), and the emits a function returns. Those come
// from a container we do not trust, so their shape, sizes and number are checked here, all of them
// before anything is written: an invocation's emits are published whole or not at all.
import { TOPIC_PATTERN } from '../../runtime/config.ts';
import type { Emit } from '../../runtime/protocol.ts';
import { TitanError } from '../../runtime/errors.ts';
import { isReservedTopic, reservedTopicMessage } from '../../runtime/topics.ts';

/** The longest event type, for published events and emits alike. */
export const EVENT_TYPE_MAX = 200;

/** Why a topic may not be published to, or undefined. */
export function topicProblem(topic: string): string | undefined {
  if (!TOPIC_PATTERN.test(topic))
    return `invalid topic ${JSON.stringify(topic)}: topics match ${TOPIC_PATTERN.source}`;
  if (isReservedTopic(topic)) return reservedTopicMessage(topic);
  return undefined;
}

/** Throws invalid_topic (400) for a malformed or reserved topic. */
export function validateTopic(topic: string): void {
  const problem = topicProblem(topic);
  if (problem) throw new TitanError('invalid_topic', problem, { topic });
}

const kind = (x: unknown): string => (Array.isArray(x) ? 'a list' : x === null ? 'null' : typeof x);

/**
 * The emits of one invocation, checked. A reserved or malformed topic is invalid_topic (400, as a
 * publish would be); anything else wrong (not a list, too many, a type that is not a string of 1 to
 * EVENT_TYPE_MAX characters) is invalid_response (502): the function answered something the gateway
 * will not pass on. Either way the function has already run; the message says so.
 */
export function validateEmits(fn: string, emits: unknown, max: number): Emit[] {
  const refuse = (
    code: 'invalid_topic' | 'invalid_response',
    why: string,
    details: Record<string, unknown> = {},
  ) =>
    new TitanError(
      code,
      `function '${fn}' ran, but its emits were refused and none was published: ${why}`,
      { function: fn, ...details },
    );
  if (!Array.isArray(emits))
    throw refuse('invalid_response', `emits must be a list (got ${kind(emits)})`);
  if (emits.length > max) {
    throw refuse(
      'invalid_response',
      `it emitted ${emits.length} events, more than events.max_emits_per_invocation (${max})`,
      { emits: emits.length, max },
    );
  }
  emits.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw refuse(
        'invalid_response',
        `emits[${i}] must be a mapping of topic, type and data (got ${kind(e)})`,
      );
    const { topic, type } = e as Record<string, unknown>;
    if (typeof topic !== 'string')
      throw refuse('invalid_response', `emits[${i}].topic must be a string (got ${kind(topic)})`);
    if (typeof type !== 'string' || type.length === 0 || type.length > EVENT_TYPE_MAX) {
      const got = typeof type === 'string' ? `${type.length} characters` : kind(type);
      throw refuse(
        'invalid_response',
        `emits[${i}].type must be a string of 1 to ${EVENT_TYPE_MAX} characters (got ${got})`,
      );
    }
    const problem = topicProblem(topic);
    if (problem) throw refuse('invalid_topic', `emits[${i}]: ${problem}`, { topic });
  });
  return emits as Emit[];
}
