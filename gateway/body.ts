// Request bodies checked against their valibot schema: a failure is a 400 that names what is wrong.
import * as v from 'valibot';
import { TitanError } from '../runtime/errors.ts';
import { problemsOf, VALIDATION } from '../runtime/schema-util.ts';
import { checkEventJson } from './invoke.ts';

export function parseBody<S extends v.GenericSchema>(schema: S, text: string): v.InferOutput<S> {
  const json = JSON.parse(checkEventJson(text));
  const r = v.safeParse(schema, json, VALIDATION);
  if (!r.success) throw new TitanError('invalid_request', problemsOf(r.issues).join('; '));
  return r.output;
}
