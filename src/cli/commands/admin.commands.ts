import type { Command } from 'commander';
import { type ApiKey, type Tenant, unwrap } from '../../client/mailsystem-client.js';
import { type Context, positiveInt, type Run, time } from '../context.js';

const tenantRows = (ctx: Context, tenants: Tenant[]) =>
  ctx.table(
    ['id', 'name', 'status', 'rate limit', 'created'],
    tenants.map((t) => [
      t.id,
      t.name,
      t.status,
      t.rate_limit_per_second === null
        ? 'default'
        : `${t.rate_limit_per_second}/s, burst ${t.rate_limit_burst}`,
      time(t.created_at),
    ]),
  );

const keyRows = (ctx: Context, keys: ApiKey[]) =>
  ctx.table(
    ['id', 'name', 'prefix', 'mode', 'created', 'last used', 'revoked'],
    keys.map((k) => [
      k.id,
      k.name,
      `${k.prefix}…`,
      k.mode,
      time(k.created_at),
      time(k.last_used_at),
      time(k.revoked_at),
    ]),
  );

/** `tenants …` and `keys …`: the admin API, with the admin token. */
export function adminCommands(program: Command, run: Run) {
  const tenants = program
    .command('tenants')
    .description('create, list, suspend and reactivate tenants (admin)');

  run(
    tenants
      .command('create')
      .description('create a tenant')
      .argument('<name>', 'its display name')
      .option('--id <id>', 'its id (default: generated)'),
    async (ctx, name: string, o: { id?: string }) => {
      const t = await unwrap(
        ctx.admin().POST('/admin/tenants', { body: { name, ...(o.id ? { id: o.id } : {}) } }),
      );
      ctx.print(t, () => tenantRows(ctx, [t]));
      return 0;
    },
  );

  run(
    tenants
      .command('list')
      .description('list tenants, by id')
      .option('--limit <n>', 'how many (1–200)', positiveInt, 50)
      .option('--cursor <cursor>', 'the next page, as printed by the previous one'),
    async (ctx, o: { limit: number; cursor?: string }) => {
      const page = await unwrap(
        ctx.admin().GET('/admin/tenants', { params: { query: { limit: o.limit, cursor: o.cursor } } }),
      );
      ctx.print(page, () => tenantRows(ctx, page.items));
      if (page.next_cursor && !ctx.json) ctx.note(`more: --cursor ${page.next_cursor}`);
      return 0;
    },
  );

  for (const [verb, status, what] of [
    ['suspend', 'suspended', 'suspend a tenant: its keys answer 403 until it is reactivated'],
    ['activate', 'active', 'reactivate a suspended tenant'],
  ] as const) {
    run(tenants.command(verb).description(what).argument('<id>', 'the tenant'), async (ctx, id: string) => {
      const t = await unwrap(
        ctx.admin().PATCH('/admin/tenants/{id}', { params: { path: { id } }, body: { status } }),
      );
      ctx.print(t, () => tenantRows(ctx, [t]));
      return 0;
    });
  }

  const keys = program.command('keys').description("create, list and revoke a tenant's API keys (admin)");

  run(
    keys
      .command('create')
      .description('create an API key: the key is shown only now')
      .argument('<tenant>', 'the tenant id')
      .option('--name <name>', 'what the key is for', 'cli')
      .option('--test', 'a test-mode key (ms_test_…): its mail is captured in the inbox, never delivered'),
    async (ctx, tenant: string, o: { name: string; test?: boolean }) => {
      const k = await unwrap(
        ctx.admin().POST('/admin/tenants/{id}/api-keys', {
          params: { path: { id: tenant } },
          body: { name: o.name, mode: o.test ? 'test' : 'live' },
        }),
      );
      ctx.print(
        k,
        () => `${keyRows(ctx, [k])}\nkey: ${k.key}\n(shown only now: keep it, e.g. as MAILSYSTEM_API_KEY)`,
      );
      return 0;
    },
  );

  run(
    keys.command('list').description("list a tenant's API keys").argument('<tenant>', 'the tenant id'),
    async (ctx, tenant: string) => {
      const page = await unwrap(
        ctx.admin().GET('/admin/tenants/{id}/api-keys', { params: { path: { id: tenant } } }),
      );
      ctx.print(page, () => keyRows(ctx, page.items));
      return 0;
    },
  );

  run(
    keys
      .command('revoke')
      .description('revoke an API key (within a second everywhere)')
      .argument('<tenant>', 'the tenant id')
      .argument('<key-id>', 'the key id (keys list)'),
    async (ctx, tenant: string, keyId: string) => {
      const k = await unwrap(
        ctx
          .admin()
          .DELETE('/admin/tenants/{id}/api-keys/{keyId}', { params: { path: { id: tenant, keyId } } }),
      );
      ctx.print(k, () => keyRows(ctx, [k]));
      return 0;
    },
  );
}
