// A typed handler. Types are stripped on deploy (esbuild), not checked: run `tsc` yourself if you want that.
import { greet, isLanguage, type Greeting } from './greeting.ts';

export interface HelloEvent {
  name?: string;
  language?: string;
}

export interface Context {
  invocationId: string;
  functionName: string;
  deadline: number;
}

export default async function handler(
  event: HelloEvent | null,
  context: Context,
): Promise<Greeting & { invocationId: string }> {
  const name = typeof event?.name === 'string' && event.name.trim() ? event.name.trim() : 'world';
  const language = isLanguage(event?.language) ? event.language : 'en';
  return { ...greet(name, language), invocationId: context.invocationId };
}
