import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isAppError } from '../../domain/errors.js';
import type { UnsubscribeService } from '../../services/unsubscribe.service.js';
import { htmlOr, htmlPage, Unsubscribed } from '../schemas/bulk.js';

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #1d4ed8;background:#2563eb;color:#fff;cursor:pointer}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const wantsHtml = (req: FastifyRequest) => (req.headers.accept ?? '').includes('text/html');

/**
 * One-click unsubscribe (RFC 8058), public: the signed token is the authorisation. Mail clients
 * POST `List-Unsubscribe=One-Click` as a form; people opening the link get a page with a button.
 */
export const unsubscribeRoutes =
  (deps: { unsubscribe: UnsubscribeService }): FastifyPluginAsync =>
  async (app) => {
    // Whatever a mail client posts (a form, nothing, JSON), the token in the URL is what counts.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_req, _body, done) =>
      done(null, null),
    );
    const Params = Type.Object({ token: Type.String({ maxLength: 2000 }) });

    const refuse = (req: FastifyRequest, reply: FastifyReply, e: unknown) => {
      if (!isAppError(e) || !wantsHtml(req)) throw e;
      return reply
        .code(e.status)
        .type('text/html; charset=utf-8')
        .send(page('Link not valid', '<p>This unsubscribe link is not valid. Nothing was changed.</p>'));
    };

    app.get<{ Params: { token: string } }>(
      '/unsubscribe/:token',
      {
        schema: {
          tags: ['unsubscribe'],
          summary: 'A page confirming the unsubscribe',
          params: Params,
          response: { 200: htmlPage('A page with a button that unsubscribes') },
        },
      },
      async (req, reply) => {
        try {
          const { email } = await deps.unsubscribe.inspect(req.params.token);
          return reply.type('text/html; charset=utf-8').send(
            page(
              'Unsubscribe',
              `<p>Stop sending email to <strong>${escapeHtml(email)}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
            ),
          );
        } catch (e) {
          return refuse(req, reply, e);
        }
      },
    );

    app.post<{ Params: { token: string } }>(
      '/unsubscribe/:token',
      {
        schema: {
          tags: ['unsubscribe'],
          summary: 'One-click unsubscribe (RFC 8058): suppresses the address for the sending tenant',
          params: Params,
          response: { 200: htmlOr(Unsubscribed, 'Unsubscribed: a page for a browser, JSON otherwise') },
        },
      },
      async (req, reply) => {
        try {
          const r = await deps.unsubscribe.unsubscribe(req.params.token);
          if (wantsHtml(req)) {
            return reply
              .type('text/html; charset=utf-8')
              .send(
                page('Unsubscribed', `<p>${escapeHtml(r.email)} will not receive these emails any more.</p>`),
              );
          }
          return { unsubscribed: true, email: r.email, already: r.already };
        } catch (e) {
          return refuse(req, reply, e);
        }
      },
    );
  };
