/**
 * GET /v2/assets and /v2/assets/{symbol} of the simulator: one asset per replayed symbol, with the
 * trading rules the sim broker enforces (broker.ts `orderRuleError`):
 * - us_equity (exchange NASDAQ): tradable, shortable, fractionable, easy_to_borrow true, no crypto
 *   fields; limit/stop prices at most 2 decimals (4 below $1), Alpaca's sub-penny rule;
 * - crypto (exchange CRYPTO): `price_increment` = the data's tick (DOGE/USD: 0.00001, the Bybit data's
 *   precision and the sim's quote step), `min_order_size` 1 and `min_trade_increment` 1: a `qty` order
 *   must be a whole number of coins, at least 1 (notional orders and position closes are exempt).
 * Crypto symbols keep their slash in the path (`/v2/assets/DOGE/USD`) or send it encoded (`DOGE%2FUSD`).
 */
import type { AssetClass, SymbolData } from './bars.js';
import { fmtDec, ONE_Q, toQ } from './fixed.js';
import { assetId } from './order.js';

export const CRYPTO_MIN_ORDER_SIZE = '1';
export const CRYPTO_MIN_TRADE_INCREMENT = '1';
/** 1e-9 units of the two above */
export const CRYPTO_MIN_ORDER_Q = ONE_Q;
export const CRYPTO_INCREMENT_Q = ONE_Q;

export type AssetSource = Pick<SymbolData, 'symbol' | 'assetClass' | 'tick'>;

/** The asset object of one replayed symbol. */
export function assetJson(d: AssetSource): Record<string, unknown> {
  const common = { id: assetId(d.symbol), symbol: d.symbol, status: 'active', tradable: true, attributes: [] as string[] };
  if (d.assetClass === 'crypto') {
    return {
      ...common,
      class: 'crypto',
      exchange: 'CRYPTO',
      name: `${d.symbol.split('/')[0]} / ${d.symbol.split('/')[1]}`,
      marginable: false,
      shortable: false,
      easy_to_borrow: false,
      fractionable: true,
      min_order_size: CRYPTO_MIN_ORDER_SIZE,
      min_trade_increment: CRYPTO_MIN_TRADE_INCREMENT,
      price_increment: fmtDec(toQ(d.tick)),
    };
  }
  return {
    ...common,
    class: 'us_equity',
    exchange: 'NASDAQ',
    name: d.symbol,
    marginable: true,
    shortable: true,
    easy_to_borrow: true,
    fractionable: true,
    maintenance_margin_requirement: 30,
  };
}

interface RouteReply {
  status: number;
  body: unknown;
}

const ASSET_CLASSES: ReadonlySet<string> = new Set<AssetClass | 'us_option'>(['us_equity', 'crypto', 'us_option']);

/** GET /v2/assets (query asset_class, status) and GET /v2/assets/{symbol}; undefined when the path is another one. */
export function assetsRoute(assets: readonly AssetSource[], method: string, path: string, q: URLSearchParams): RouteReply | undefined {
  if (method !== 'GET') return undefined;
  if (path === '/v2/assets') {
    const cls = q.get('asset_class');
    const status = q.get('status');
    if (cls !== null && !ASSET_CLASSES.has(cls)) return { status: 422, body: { code: 40010001, message: `invalid asset_class ${cls}` } };
    const list = assets.map(assetJson).filter((a) => (cls === null || a.class === cls) && (status === null || a.status === status));
    return { status: 200, body: list };
  }
  const m = /^\/v2\/assets\/(.+)$/.exec(path);
  if (!m) return undefined;
  let symbol: string;
  try {
    symbol = decodeURIComponent(m[1]!);
  } catch {
    symbol = m[1]!;
  }
  const d = assets.find((a) => a.symbol === symbol || assetId(a.symbol) === symbol);
  return d ? { status: 200, body: assetJson(d) } : { status: 404, body: { code: 40410000, message: `asset not found for ${symbol}` } };
}
