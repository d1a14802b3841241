import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * json: one JSON object per line (for a log collector). pretty: short coloured lines for a person
 * at a terminal. auto: pretty when stdout is a terminal, JSON otherwise.
 */
export type LogFormat = 'auto' | 'json' | 'pretty';

export const resolveLogFormat = (format: LogFormat): 'json' | 'pretty' =>
  format === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : format;

/**
 * A request URL fit for the logs: an unsubscribe token in the path is what authorises the
 * unsubscribe (and names the address), so it is replaced.
 */
export const redactUrl = (url: string): string =>
  url.replace(/\/unsubscribe\/[^/?#]+/g, '/unsubscribe/[redacted]');

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Logs in which anything that looks like a credential is redacted wherever it appears. */
export function createLogger(
  level: string,
  opts: { name?: string; destination?: pino.DestinationStream; format?: LogFormat } = {},
): Logger {
  const { name = 'mailsystem', destination, format = 'json' } = opts;
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'key',
        'password',
        'apiKey',
        '*.password',
        '*.key',
        'config.smtp.password',
        'config.adminApiToken',
      ],
      censor: '[redacted]',
    },
    serializers: {
      // Fastify's own request serializer, with the URL redacted (Fastify takes a logger's own
      // serializers over its defaults).
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: req.url === undefined ? undefined : redactUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  };
  if (destination) return pino(options, destination);
  if (resolveLogFormat(format) === 'pretty') {
    // In this thread, synchronously: a line is on the terminal before the next one is written,
    // and nothing is lost when the process exits.
    // Loaded only for a terminal: a container never pays for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      pretty({
        sync: true,
        colorize: Boolean(process.stdout.isTTY),
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name',
        singleLine: true,
      }),
    );
  }
  return pino(options);
}
