import { CaptureSmtpServer } from '../dev/capture-server.js';
import { createLogger } from '../lib/logger.js';
import { configOrExit, fatal, onShutdown } from './run.js';

// A mail catcher alone (compose's `capture` profile): an SMTP server on HOST:SMTP_PORT that keeps
// every message it receives, logs it, and writes it to CAPTURE_DIR as an .eml file when set.
// It accepts anything from anyone and has no TLS: for development only, never on a public address.
const config = configOrExit();
const logger = createLogger(config.logLevel === 'silent' ? 'info' : config.logLevel, {
  format: config.logFormat,
});
try {
  const server = new CaptureSmtpServer({
    host: config.http.host,
    port: config.smtp.port,
    dir: config.capture.dir,
    // Only the count is needed in memory; the messages are in the log and in CAPTURE_DIR.
    keep: 0,
    logger,
  });
  await server.start();
  onShutdown(logger, () => server.stop());
} catch (err) {
  fatal(err, logger);
}
