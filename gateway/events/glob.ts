// Topic globs as Redis understands them in SCAN MATCH, restricted to `*` (any run of characters)
// and `?` (one character), so the gateway and Redis agree on what a trigger's topic matches.

export const isGlob = (topic: string): boolean => /[*?]/.test(topic);

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    cache.set(glob, re);
  }
  return re;
}

/** `chat.*` → `chat.*` for SCAN; Redis treats `[` and `\` specially, so escape them. */
export const globToRedisPattern = (glob: string): string => glob.replace(/[[\]\\]/g, '\\$&');

export const topicMatches = (pattern: string, topic: string): boolean =>
  isGlob(pattern) ? globToRegExp(pattern).test(topic) : pattern === topic;

/** A trigger's event_type: exact, `*`, or absent for every type. */
export const typeMatches = (want: string | undefined, type: string): boolean =>
  want === undefined || want === '*' || want === type;
