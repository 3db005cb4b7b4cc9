// How deeply a JSON text nests, found without parsing it. Python's json module recurses per level
// (RecursionError near 1,000) and JSON.stringify overflows the stack deeper still, so the gateway
// refuses deep input before it reaches a container: a hostile body costs one scan, never a container.

/** Deepest nesting the gateway passes to a function; far beyond what real payloads use. */
export const MAX_JSON_DEPTH = 512;

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when `text` (taken as JSON) opens more than `max` arrays or objects inside each other. */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Each level needs its own opening bracket: a short text cannot nest deeply (the common case).
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}
