// A harness gateway in a process of its own, for tests that SIGKILL it: a crash that cleans nothing
// up, so its containers are left behind in its scope. Started by `startCrashableGateway` (crash.ts).
// argv: <harness dir> <functions as JSON>. Prints `ready` once every function is deployed.
import { startHarness } from './harness.ts';

const [dir, functions] = process.argv.slice(2);
await startHarness(JSON.parse(functions!), { events: { embedded_redis: false } }, { dir });
process.stdout.write('ready\n');
setInterval(() => {}, 60_000); // serve until killed
