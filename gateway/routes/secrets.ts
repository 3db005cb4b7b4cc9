// Management routes for secrets: PUT /secrets/:name (the body is the value), GET /secrets (names and
// times, never values), DELETE /secrets/:name. Behind the admin token and the page rule (app.ts).
// Setting or removing one rescans: the functions naming it roll (registry/secret-rolls.ts).
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as v from 'valibot';
import { TitanError } from '../../runtime/errors.ts';
import { MAX_SECRET_BYTES, validateSecretName, type SecretStore } from '../../runtime/secrets.ts';

/** What the routes answer (and the OpenAPI document says): names and times, never a value. */
const Listed = v.object({ name: v.string(), updated_at: v.string() });
export const SecretListSchema = v.object({ secrets: v.array(Listed) });
export const SecretSetSchema = v.object({
  name: v.string(),
  created: v.boolean(),
  updated_at: v.string(),
});
export const SecretDeletedSchema = v.object({ name: v.string(), deleted: v.literal(true) });

export interface SecretRoutesDeps {
  store: SecretStore;
  /** after a change: redeploy the functions that name the secret */
  rescan: () => Promise<void>;
}

export function secretRoutes({ store, rescan }: SecretRoutesDeps): Hono {
  const app = new Hono();
  // The message names the limit, never a byte of the body.
  const limit = bodyLimit({
    maxSize: MAX_SECRET_BYTES,
    onError: () => {
      throw new TitanError('payload_too_large', `a secret is at most ${MAX_SECRET_BYTES} bytes`);
    },
  });

  app.get('/secrets', async (c) =>
    c.json({ secrets: await store.list() } satisfies v.InferOutput<typeof SecretListSchema>),
  );

  // The name is checked before the body is read: a bad name costs nothing.
  app.put(
    '/secrets/:name',
    (c, next) => {
      validateSecretName(c.req.param('name'));
      return next();
    },
    limit,
    async (c) => {
      const name = c.req.param('name');
      const value = new Uint8Array(await c.req.arrayBuffer());
      const { created } = await store.set(name, value);
      await rescan();
      const listed = (await store.list()).find((s) => s.name === name);
      const body: v.InferOutput<typeof SecretSetSchema> = {
        name,
        created,
        updated_at: listed?.updated_at ?? new Date().toISOString(),
      };
      return c.json(body, created ? 201 : 200);
    },
  );

  app.delete('/secrets/:name', async (c) => {
    const name = c.req.param('name');
    await store.remove(name);
    await rescan();
    return c.json({ name, deleted: true } satisfies v.InferOutput<typeof SecretDeletedSchema>);
  });

  return app;
}
