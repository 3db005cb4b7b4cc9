// The runtime's reserved namespace in Redis. Every key the event system keeps (results, dead
// letters, work queues, retry counts, async records) is `<events.key_prefix>titan.…`, and no topic
// (trigger, publish, context.emit, file source) may name it or glob only into it. Topics are stored
// as `<events.key_prefix><topic>`, so a topic outside the namespace can never be one of those keys.

export const RESERVED_NAMESPACE = 'titan.';

/**
 * Reserved: starts with `titan.`, or has `titan.` right after a `:`, in any case.
 * Any case: Redis keys are case-sensitive, so `TITAN.dlq` is not the DLQ, but a topic that reads
 * as the DLQ only misleads. After a `:`: key prefixes conventionally end in `:`, and a gateway whose
 * key_prefix is empty would otherwise take another deployment's `name:titan.q.fn` (same Redis,
 * prefix `name:`) for a topic, and read that deployment's queue through a `*` trigger.
 */
const RESERVED = /(?:^|:)titan\./i;

export const isReservedTopic = (topic: string): boolean => RESERVED.test(topic);

/** What publishing, emitting or a file source is told about a reserved topic. */
export const reservedTopicMessage = (topic: string): string =>
  `'${topic}' is one of the runtime's own streams or keys: names starting with '${RESERVED_NAMESPACE}' ` +
  `(in any case, also after a ':') are reserved for its results, dead letters, work queues and bookkeeping; use another topic`;

/** The part of a trigger topic before its first wildcard (`*` or `?`); all of it for an exact topic. */
export const fixedPart = (topic: string): string => topic.split(/[*?]/, 1)[0]!;

/**
 * Why a trigger topic may not be deployed, or undefined. An exact topic may not be reserved; a glob
 * may not have a reserved fixed part (`titan.*`, `titan.q.*`): every topic it could match is
 * reserved. A glob that can also match ordinary topics (`*`, `t*`, `titan*`) deploys, and the router
 * never lets it match a reserved key (gateway/events/router.ts).
 */
export function triggerTopicProblem(topic: string): string | undefined {
  if (!isReservedTopic(fixedPart(topic))) return undefined;
  const why = `names starting with '${RESERVED_NAMESPACE}' (in any case, also after a ':') are the runtime's own streams and keys`;
  return topic === fixedPart(topic)
    ? `'${topic}' is reserved: ${why} (results, dead letters, other functions' queues), which no trigger may read`
    : `'${topic}' matches only reserved names: ${why}, which no trigger may read (a wider glob such as '*' is allowed and never matches them)`;
}
