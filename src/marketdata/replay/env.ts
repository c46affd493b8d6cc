/**
 * The environment of `papertape run` against a local serve-replay at `hostPort`: every Binance URL at it,
 * and no wall-clock pauses (a replay passes minutes of market in seconds, so the 5-minute warm-up and the
 * 15-minute loss-streak pause would stop the trading, and a run on a Friday evening must not pause for
 * Shabbat). Used by tests, benchmarks and the load/soak scripts.
 */
export function replayRunEnv(hostPort: string): Record<string, string> {
  return {
    WARMUP_SECONDS: '0',
    RISK_LOSS_STREAK: '0',
    SHABBAT_PAUSE: 'false',
    BINANCE_SPOT_WS_URL: `ws://${hostPort}`,
    BINANCE_SPOT_REST_URL: `http://${hostPort}`,
    BINANCE_FUTURES_WS_URL: `ws://${hostPort}`,
    BINANCE_FUTURES_REST_URL: `http://${hostPort}`,
  };
}
