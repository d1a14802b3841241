import { migrate } from '../db/migrator.js';
import { createPgDatabase } from '../db/pg.database.js';
import { createLogger } from '../lib/logger.js';
import { configOrExit } from './run.js';

const config = configOrExit();
const logger = createLogger(config.logLevel === 'silent' ? 'info' : config.logLevel, {
  format: config.logFormat,
});
const db = createPgDatabase(config.databaseUrl, { max: 1 });
try {
  const r = await migrate(db);
  logger.info({ applied: r.applied, already: r.skipped.length }, 'migrations done');
} catch (err) {
  logger.fatal({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.close();
}
