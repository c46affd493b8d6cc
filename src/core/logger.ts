/** The logging the core's components need (pino's shape); the edge supplies the implementation. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
