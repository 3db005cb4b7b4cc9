// Remote deploy over the admin API: PUT /functions/:name/source takes the function folder as a tar or
// tar.gz body and answers once the registry has deployed it (gateway/deploy/remote-deploy.ts);
// DELETE /functions/:name removes its folder, as deleting it by hand does. Both behind the admin
// token and the page rule (`guards`, from app.ts); the body limit holds before anything is read.
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { every } from 'hono/combine';
import { TitanError } from '../../runtime/errors.ts';
import type { RemoteDeploy } from '../deploy/remote-deploy.ts';
import { validateName } from '../invoke.ts';

export function deployRoutes(deploy: RemoteDeploy, guards: MiddlewareHandler[]): Hono {
  const app = new Hono();
  const max = deploy.limits.maxArchiveBytes;
  const limit = bodyLimit({
    maxSize: max,
    onError: () => {
      throw new TitanError(
        'payload_too_large',
        `an uploaded function folder is at most ${max} bytes (tar or tar.gz)`,
      );
    },
  });
  // The name is checked before the body is read: a bad name costs nothing.
  const name: MiddlewareHandler = (c, next) => {
    validateName(c.req.param('name') ?? '');
    return next();
  };
  // Per method and path: a use('/functions/:name') here would also guard the public GET of that path.
  const guard = every(...guards, name);

  app.put('/functions/:name/source', guard, limit, async (c) => {
    const outcome = await deploy.deploy(
      c.req.param('name'),
      Buffer.from(await c.req.arrayBuffer()),
    );
    return c.json(outcome, outcome.deployed ? 200 : 422);
  });
  app.delete('/functions/:name', guard, async (c) =>
    c.json(await deploy.remove(c.req.param('name'))),
  );
  return app;
}
