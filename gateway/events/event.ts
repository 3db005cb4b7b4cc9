// The event contract on Redis Streams: an entry has `type` and `data` (a JSON string), optionally
// `source`, `time` and `correlation_id`. Parsing never throws: a malformed entry gets a reason.
import * as v from 'valibot';

// valibot reports a missing key with the object's message, not the field's: name the field here.
const EntrySchema = v.object(
  {
    type: v.pipe(v.string('type: missing'), v.minLength(1, 'type: must not be empty')),
    data: v.optional(v.string()),
    source: v.optional(v.string()),
    time: v.optional(v.string()),
    correlation_id: v.optional(v.string()),
  },
  (issue) => `${v.getDotPath(issue) ?? 'entry'}: missing`,
);

export interface StreamEvent {
  id: string;
  topic: string;
  type: string;
  /** the `data` field exactly as stored: JSON text, validated, not re-serialised */
  dataJson: string;
  source?: string;
  time?: string;
  correlationId?: string;
}

export type ParsedEntry =
  | { ok: true; event: StreamEvent }
  | { ok: false; error: string; fields: Record<string, string> };

/** Redis returns an entry's fields as a flat [k1, v1, k2, v2] list. */
export function fieldsToRecord(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

export function parseEntry(topic: string, id: string, flat: string[]): ParsedEntry {
  const fields = fieldsToRecord(flat);
  const r = v.safeParse(EntrySchema, fields);
  if (!r.success)
    return {
      ok: false,
      error: `malformed event: ${r.issues.map((i) => i.message).join('; ')}`,
      fields,
    };
  const dataJson = r.output.data ?? 'null';
  try {
    JSON.parse(dataJson);
  } catch (err) {
    return {
      ok: false,
      error: `malformed event: data is not JSON (${(err as Error).message})`,
      fields,
    };
  }
  const { type, source, time, correlation_id } = r.output;
  return {
    ok: true,
    event: { id, topic, type, dataJson, source, time, correlationId: correlation_id },
  };
}

/** The handler's `event`: `{ id, topic, type, data, source?, time? }`, built without re-parsing data. */
export function handlerEventJson(e: StreamEvent): string {
  const extra =
    (e.source !== undefined ? `,"source":${JSON.stringify(e.source)}` : '') +
    (e.time !== undefined ? `,"time":${JSON.stringify(e.time)}` : '');
  return `{"id":${JSON.stringify(e.id)},"topic":${JSON.stringify(e.topic)},"type":${JSON.stringify(e.type)},"data":${e.dataJson}${extra}}`;
}
