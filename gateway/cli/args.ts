// The command line's options, as node:util parseArgs reads them, and their parsed values.

export const OPTIONS = {
  data: { type: 'string', short: 'd' },
  event: { type: 'string', short: 'e' },
  file: { type: 'string', short: 'f' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  async: { type: 'boolean' },
  count: { type: 'string' },
  min: { type: 'string' },
  max: { type: 'string' },
  concurrency: { type: 'string' },
  'idle-sec': { type: 'string' },
  reset: { type: 'boolean' },
  follow: { type: 'boolean' },
  tail: { type: 'string' },
  invocation: { type: 'string' },
  runtime: { type: 'string' },
  dir: { type: 'string' },
  gateway: { type: 'string' },
  token: { type: 'string' },
} as const;

export type Values = {
  data?: string;
  event?: string;
  file?: string;
  verbose?: boolean;
  help?: boolean;
  async?: boolean;
  count?: string;
  min?: string;
  max?: string;
  concurrency?: string;
  'idle-sec'?: string;
  reset?: boolean;
  follow?: boolean;
  tail?: string;
  invocation?: string;
  runtime?: string;
  dir?: string;
  gateway?: string;
  token?: string;
};
