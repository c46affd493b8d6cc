import { err, ok, type Result } from '../core/result.js';

/**
 * The feature vector: names and order (docs/features.md defines each one). A model declares the version and
 * the names, in order, it was trained on; the inference side checks them with `checkFeatureSchema` when it
 * loads the model. Any change of a name, its order or its meaning bumps the version.
 */
export const FEATURE_SCHEMA = {
  version: '1',
  names: [
    // book shape (at the last book update)
    'imb_l1',
    'imb_l3',
    'imb_l5',
    'imb_l10',
    'wimb_l3',
    'wimb_l5',
    'wimb_l10',
    'microprice_offset_ticks',
    'microprice_offset_bp',
    'spread_ticks',
    'spread_bp',
    'depth_slope_bid',
    'depth_slope_ask',
    'depth_slope_log_ratio',
    // order flow imbalance, accumulated over trailing windows
    'ofi_1s',
    'ofi_5s',
    'ofi_30s',
    'mlofi_1s',
    'mlofi_5s',
    'mlofi_30s',
    // trades
    'trade_imb_1s',
    'trade_imb_5s',
    'trade_imb_30s',
    'trade_rate_1s',
    'trade_rate_10s',
    // realized volatility and past returns of the mid
    'rv_5s',
    'rv_30s',
    'rv_60s',
    'ret_1s',
    'ret_5s',
    'ret_30s',
    // USD-M futures context (NaN when there is no futures data)
    'funding_rate_bp',
    'mark_basis_bp',
    'oi_change_5m_bp',
    'liq_count_60s',
    'liq_imb_60s',
  ] as const,
} as const;

export type FeatureName = (typeof FEATURE_SCHEMA.names)[number];
export const FEATURE_COUNT = FEATURE_SCHEMA.names.length;

/** Index of a feature in the vector. */
export function featureIndex(name: FeatureName): number {
  return (FEATURE_SCHEMA.names as readonly string[]).indexOf(name);
}

/** Features that are NaN whenever the session has no USD-M futures data (see docs/features.md). */
export const FUTURES_FEATURES: readonly FeatureName[] = ['funding_rate_bp', 'mark_basis_bp', 'oi_change_5m_bp', 'liq_count_60s', 'liq_imb_60s'];

/** What a model says it was trained on. */
export interface DeclaredSchema {
  version: string;
  names: readonly string[];
}

/**
 * Checks a model's declared feature schema against this build's: same version, same names in the same
 * order. The message names the first difference.
 */
export function checkFeatureSchema(declared: DeclaredSchema): Result<true, 'feature_schema_mismatch'> {
  const ours = FEATURE_SCHEMA.names as readonly string[];
  if (declared.version !== FEATURE_SCHEMA.version) {
    return err('feature_schema_mismatch', `model was trained on feature schema version ${declared.version}, this build computes version ${FEATURE_SCHEMA.version}`);
  }
  const n = Math.max(ours.length, declared.names.length);
  for (let i = 0; i < n; i++) {
    if (declared.names[i] !== ours[i]) {
      return err('feature_schema_mismatch', `feature ${i}: model expects ${declared.names[i] ?? '(none)'}, this build computes ${ours[i] ?? '(none)'}`);
    }
  }
  return ok(true);
}
