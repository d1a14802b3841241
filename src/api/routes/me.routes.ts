import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { TenancyService } from '../../services/tenancy.service.js';
import { tenantOf } from '../plugins/auth.js';
import { ApiKey, Tenant } from '../schemas/admin.js';
import { keyView, tenantView } from './admin.routes.js';

/** Who a key is: the tenant it acts for and the key itself (never the secret). */
export const meRoutes =
  (deps: { tenancy: TenancyService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/me',
      {
        schema: {
          tags: ['tenancy'],
          summary: 'The tenant and API key this request authenticated with',
          response: { 200: Type.Object({ tenant: Tenant, api_key: ApiKey }) },
        },
      },
      async (req) => {
        tenantOf(req);
        const { tenant, key } = await deps.tenancy.whoAmI(req.tenant as NonNullable<typeof req.tenant>);
        return { tenant: tenantView(tenant), api_key: keyView(key) };
      },
    );
  };
