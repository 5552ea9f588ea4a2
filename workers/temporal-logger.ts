import type {
  LogLevel as TemporalLogLevel,
  LogMetadata,
  Logger as TemporalLoggerInterface,
} from '@temporalio/common';
import type { Logger } from '../runtime/logger';

/** Routes the Temporal SDK's logs (worker, workflow `log`, activity `log`) into our JSON logger. */
export class TemporalLogger implements TemporalLoggerInterface {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLogLevel, message: string, meta?: LogMetadata): void {
    const fields = { ...meta, source: 'temporal' };
    switch (level) {
      case 'TRACE':
      case 'DEBUG':
        return this.logger.debug(message, fields);
      case 'INFO':
        return this.logger.info(message, fields);
      case 'WARN':
        return this.logger.warn(message, fields);
      case 'ERROR':
        return this.logger.error(message, fields);
    }
  }
  trace(message: string, meta?: LogMetadata) {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    this.log('ERROR', message, meta);
  }
}
