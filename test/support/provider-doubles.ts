import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local HTTP doubles of the providers' send APIs, each following its documented contract: the
 * path, the auth header, the request body, the success body with the message id, and error bodies.
 * One server answers all five (paths do not overlap). A request whose auth is wrong gets that
 * provider's documented 401; a test can queue answers per provider (`answerNext`).
 */
export type ProviderName = 'sendgrid' | 'postmark' | 'mailgun' | 'resend' | 'ses';

export interface RecordedRequest {
  provider: ProviderName;
  path: string;
  headers: IncomingMessage['headers'];
  /** JSON bodies parsed; Mailgun's multipart form as fields (the message file as text). */
  body: any;
  /** The id the double answered with, when it accepted the message. */
  acceptedId?: string;
}

export interface CannedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const CREDENTIALS = {
  sendgrid: 'SG.test-key',
  postmark: 'pm-server-token',
  mailgun: 'mg-key',
  mailgunDomain: 'mg.example.com',
  resend: 're_test_key',
  awsAccessKeyId: 'AKIDEXAMPLE',
};

export interface ProviderDoubles {
  url: string;
  requests: RecordedRequest[];
  of(provider: ProviderName): RecordedRequest[];
  answerNext(provider: ProviderName, ...answers: CannedAnswer[]): void;
  /** The documented error answers, by provider and class. */
  clear(): void;
  stop(): Promise<void>;
}

function route(path: string): ProviderName | null {
  if (path === '/v3/mail/send') return 'sendgrid';
  if (path === '/email') return 'postmark';
  if (/^\/v3\/[^/]+\/messages\.mime$/.test(path)) return 'mailgun';
  if (path === '/emails') return 'resend';
  if (path === '/v2/email/outbound-emails') return 'ses';
  return null;
}

function authorized(provider: ProviderName, h: IncomingMessage['headers']): boolean {
  switch (provider) {
    case 'sendgrid':
      return h.authorization === `Bearer ${CREDENTIALS.sendgrid}`;
    case 'postmark':
      return h['x-postmark-server-token'] === CREDENTIALS.postmark;
    case 'mailgun':
      return h.authorization === `Basic ${Buffer.from(`api:${CREDENTIALS.mailgun}`).toString('base64')}`;
    case 'resend':
      return h.authorization === `Bearer ${CREDENTIALS.resend}`;
    case 'ses':
      // SigV4: the scheme and the access key id (the signature itself is AWS's to check).
      return (
        typeof h.authorization === 'string' &&
        h.authorization.startsWith(`AWS4-HMAC-SHA256 Credential=${CREDENTIALS.awsAccessKeyId}/`) &&
        typeof h['x-amz-date'] === 'string'
      );
  }
}

const UNAUTHORIZED: Record<ProviderName, CannedAnswer> = {
  sendgrid: {
    status: 401,
    body: {
      errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }],
    },
  },
  postmark: {
    status: 401,
    body: { ErrorCode: 10, Message: 'No Account or Server API tokens were supplied in the HTTP headers.' },
  },
  mailgun: { status: 401, body: 'Forbidden' },
  resend: {
    status: 401,
    body: {
      statusCode: 401,
      name: 'missing_api_key',
      message: 'Missing API key in the authorization header.',
    },
  },
  ses: {
    status: 403,
    headers: { 'x-amzn-errortype': 'UnrecognizedClientException' },
    body: { message: 'The security token included in the request is invalid.' },
  },
};

function accepted(provider: ProviderName, id: string, body: any): CannedAnswer {
  switch (provider) {
    case 'sendgrid':
      return { status: 202, headers: { 'x-message-id': id } };
    case 'postmark':
      return {
        status: 200,
        body: {
          To: body.To,
          SubmittedAt: new Date().toISOString(),
          MessageID: id,
          ErrorCode: 0,
          Message: 'OK',
        },
      };
    case 'mailgun':
      return { status: 200, body: { id: `<${id}>`, message: 'Queued. Thank you.' } };
    case 'resend':
      return { status: 200, body: { id } };
    case 'ses':
      return { status: 200, body: { MessageId: id } };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function parse(req: IncomingMessage, raw: Buffer): Promise<any> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    const out: Record<string, string> = {};
    for (const [k, v] of form.entries()) out[k] = typeof v === 'string' ? v : await v.text();
    return out;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}

export async function startProviderDoubles(): Promise<ProviderDoubles> {
  const requests: RecordedRequest[] = [];
  const queued = new Map<ProviderName, CannedAnswer[]>();
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const provider = route(path);
    const raw = await readBody(req);
    if (!provider || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const body = await parse(req, raw);
    const rec: RecordedRequest = { provider, path, headers: req.headers, body };
    requests.push(rec);
    let answer: CannedAnswer;
    if (!authorized(provider, req.headers)) answer = UNAUTHORIZED[provider];
    else {
      const next = queued.get(provider)?.shift();
      if (next) answer = next;
      else {
        rec.acceptedId =
          provider === 'mailgun'
            ? `${Date.now()}.${randomUUID()}@${CREDENTIALS.mailgunDomain}`
            : randomUUID();
        answer = accepted(provider, rec.acceptedId, body);
      }
    }
    const isJson = answer.body !== undefined && typeof answer.body !== 'string';
    res.writeHead(answer.status, {
      ...(answer.body === undefined ? {} : { 'content-type': isJson ? 'application/json' : 'text/plain' }),
      ...answer.headers,
    });
    res.end(answer.body === undefined ? undefined : isJson ? JSON.stringify(answer.body) : answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    of: (p) => requests.filter((r) => r.provider === p),
    answerNext(provider, ...answers) {
      queued.set(provider, [...(queued.get(provider) ?? []), ...answers]);
    },
    clear() {
      requests.length = 0;
      queued.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Each provider's documented answers by class, for the tests to queue. */
export const DOCUMENTED = {
  sendgrid: {
    rateLimited: {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { errors: [{ field: null, message: 'too many requests' }] },
    },
    serverError: { status: 500, body: { errors: [{ field: null, message: 'internal error' }] } },
    permanent: {
      status: 400,
      body: {
        errors: [
          {
            field: 'personalizations.0.to.0.email',
            message: 'Does not contain a valid address.',
            help: 'http://sendgrid.com/docs',
          },
        ],
      },
    },
  },
  postmark: {
    rateLimited: {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { ErrorCode: 429, Message: 'Rate limit exceeded.' },
    },
    serverError: { status: 500, body: { ErrorCode: 100, Message: 'Maintenance' } },
    permanent: {
      status: 422,
      body: {
        ErrorCode: 406,
        Message:
          'You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: x@example.com.',
      },
    },
  },
  mailgun: {
    rateLimited: { status: 429, headers: { 'retry-after': '1' }, body: { message: 'Too many requests' } },
    serverError: { status: 503, body: 'Service Unavailable' },
    permanent: {
      status: 400,
      body: { message: "'to' parameter is not a valid address. please check documentation" },
    },
  },
  resend: {
    rateLimited: {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests.' },
    },
    serverError: {
      status: 500,
      body: { statusCode: 500, name: 'application_error', message: 'An unexpected error occurred.' },
    },
    permanent: {
      status: 422,
      body: { statusCode: 422, name: 'invalid_from_address', message: 'Invalid `from` field.' },
    },
  },
  ses: {
    rateLimited: {
      status: 429,
      headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
      body: { message: 'Too many requests' },
    },
    serverError: {
      status: 500,
      headers: { 'x-amzn-errortype': 'InternalFailure' },
      body: { message: 'internal failure' },
    },
    permanent: {
      status: 400,
      headers: { 'x-amzn-errortype': 'MessageRejected' },
      body: { message: 'Email address is not verified.' },
    },
  },
} satisfies Record<ProviderName, Record<string, CannedAnswer>>;
