// The compiled gateway leaves out two parts of dockerode it never uses, which it would otherwise load
// at start: BuildKit sessions (dockerode/lib/session.js, over @grpc/grpc-js, @grpc/proto-loader and
// protobufjs; only for `buildImage({ version: '2' })`) and the SSH transport (docker-modem/lib/ssh.js,
// over ssh2; only for `ssh://` engine hosts, which runtime/engine/locate.ts never makes). Together
// ~9 MiB of the gateway's idle RSS and 4 MiB of its heap. dockerode and docker-modem are bundled so
// those two requires can be replaced by a stub that throws if it is ever called; every other package
// stays external, and the bundle gets a `require` for the packages the bundled CommonJS requires.

import { createRequire } from 'node:module';

const BUNDLED = /^(dockerode|docker-modem)$/;
const LEFT_OUT = [
  { from: '/dockerode/lib/', request: './session', what: 'BuildKit sessions (dockerode)' },
  { from: '/docker-modem/lib/', request: './ssh', what: 'the SSH transport (docker-modem)' },
];

/** Where the stubs live: no file, so no input for the build's staleness check. */
export const STUB_NAMESPACE = 'lean-deps-stub';

/** CommonJS code inside the ESM bundle requires the external packages through this. */
export const REQUIRE_BANNER =
  "import { createRequire as __titanCreateRequire } from 'node:module'; const require = __titanCreateRequire(import.meta.url);";

export function leanDepsPlugin() {
  return {
    name: 'lean-deps',
    setup(b) {
      // Resolved as Node would from the importing file, then bundled rather than left external.
      b.onResolve({ filter: BUNDLED }, (args) => ({
        path: createRequire(args.importer).resolve(args.path),
      }));
      b.onResolve({ filter: /^\.\/(session|ssh)$/ }, (args) => {
        const hit = LEFT_OUT.find((l) => args.path === l.request && args.importer.includes(l.from));
        return hit ? { path: hit.what, namespace: STUB_NAMESPACE } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
        contents: `module.exports = function () { throw new Error(${JSON.stringify(`${args.path} is left out of the compiled gateway (scripts/lean-deps.js)`)}); };`,
        loader: 'js',
      }));
    },
  };
}
