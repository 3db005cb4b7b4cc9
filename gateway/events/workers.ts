// The set of queue workers: one per deployed function, started when it appears and stopped (its
// in-flight entries finish, or stay pending for another gateway) when it goes.
import type { QueueWorker } from './worker.ts';

export function syncWorkers(
  workers: Map<string, QueueWorker>,
  names: ReadonlySet<string>,
  create: (fn: string) => QueueWorker,
): void {
  for (const [fn, w] of workers) {
    if (names.has(fn)) continue;
    workers.delete(fn);
    void w.stop();
  }
  for (const fn of names) {
    if (workers.has(fn)) continue;
    const w = create(fn);
    workers.set(fn, w);
    w.start();
  }
}
