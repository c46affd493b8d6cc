/**
 * Process plumbing shared by the long-running CLI adapters (`serve-replay`, `record`): wait for
 * SIGINT/SIGTERM (or an abort signal, or the end of the work) while printing a progress line.
 */

export interface TextOut {
  write(s: string): unknown;
}

/** What a long-running CLI adapter writes to and how it is stopped (tests pass their own). */
export interface CliIo {
  stdout?: TextOut;
  stderr?: TextOut;
  /** stops like SIGINT */
  signal?: AbortSignal;
  /** progress interval, default 1000 ms */
  progressMs?: number;
}

export interface StopWhen {
  /** stops like SIGINT */
  signal?: AbortSignal;
  /** stops once this resolves (e.g. "every message was sent") */
  done?: Promise<unknown>;
}

/** Resolves on the first SIGINT or SIGTERM, abort of `when.signal`, or resolution of `when.done`; then removes its handlers. */
export function untilStopped(when: StopWhen = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      when.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    when.signal?.addEventListener('abort', stop, { once: true });
    if (when.signal?.aborted) stop();
    if (when.done) void when.done.then(stop);
  });
}

/** Writes `line()` to `out` every `everyMs` until stopped (see untilStopped). */
export async function progressUntilStopped(out: TextOut, line: () => string, everyMs: number, when: StopWhen = {}): Promise<void> {
  const ticker = setInterval(() => out.write(`${line()}\n`), everyMs);
  try {
    await untilStopped(when);
  } finally {
    clearInterval(ticker);
  }
}

export interface LineLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

/** `level: message {json}` lines on `err`: warnings always, info only when verbose. */
export function stderrLogger(err: TextOut, verbose: boolean): LineLogger {
  const fmt = (level: string, o: object, msg?: string): string => `${level}: ${msg ?? ''} ${JSON.stringify(o)}\n`;
  return {
    info: (o, msg) => {
      if (verbose) err.write(fmt('info', o, msg));
    },
    warn: (o, msg) => err.write(fmt('warn', o, msg)),
  };
}
