// Live pool settings set through the API, kept in the state directory so they survive a restart.
// An override holds only while the manifest it was made against is unchanged.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as v from 'valibot';
import { int, strictObject } from './schema-util.ts';
import type { PoolSettings } from './spec.ts';

/** A change of some knobs; absent keys keep their value. Also the request body of PUT /functions/:name/pool. */
export const PoolUpdateSchema = strictObject({
  min: v.optional(int(0, 1000)),
  max: v.optional(int(1, 1000)),
  concurrency: v.optional(int(1, 1000)),
  idle_sec: v.optional(v.pipe(v.number(), v.minValue(0))),
});
export type PoolUpdate = v.InferOutput<typeof PoolUpdateSchema>;

export function applyUpdate(base: PoolSettings, u: PoolUpdate): PoolSettings {
  return {
    min: u.min ?? base.min,
    max: u.max ?? base.max,
    concurrency: u.concurrency ?? base.concurrency,
    idleSec: u.idle_sec ?? base.idleSec,
  };
}

interface Stored {
  manifestHash: string;
  update: PoolUpdate;
}

export class PoolOverrides {
  private data: Record<string, Stored> = {};
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    try {
      this.data = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Stored>;
    } catch {
      this.data = {}; // none yet, or unreadable: start without overrides rather than refuse to start
    }
  }

  /** The override for a function, if it was made against this manifest; a stale one is dropped. */
  get(fn: string, manifestHash: string): PoolUpdate | undefined {
    const s = this.data[fn];
    if (!s) return undefined;
    if (s.manifestHash === manifestHash) return s.update;
    delete this.data[fn];
    void this.save();
    return undefined;
  }

  set(fn: string, manifestHash: string, update: PoolUpdate): Promise<void> {
    const prev = this.data[fn]?.manifestHash === manifestHash ? this.data[fn]!.update : {};
    this.data[fn] = { manifestHash, update: { ...prev, ...update } };
    return this.save();
  }

  delete(fn: string): Promise<void> {
    delete this.data[fn];
    return this.save();
  }

  /** Writes are serialised and atomic (temp file + rename), so a crash never leaves half a file. */
  private save(): Promise<void> {
    const text = JSON.stringify(this.data, null, 2);
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFile(`${this.file}.tmp`, text);
      await rename(`${this.file}.tmp`, this.file);
    });
    return this.writing;
  }
}
