// A second module: relative imports of the folder's own .ts files are bundled into the handler on deploy.
export interface Greeting {
  message: string;
  /** who was greeted, after trimming */
  name: string;
  language: Language;
}

export type Language = 'en' | 'fr' | 'de';

const SALUTATIONS: Record<Language, string> = { en: 'hello', fr: 'bonjour', de: 'hallo' };

export const isLanguage = (x: unknown): x is Language => typeof x === 'string' && x in SALUTATIONS;

export function greet(name: string, language: Language = 'en'): Greeting {
  return { message: `${SALUTATIONS[language]}, ${name}`, name, language };
}
