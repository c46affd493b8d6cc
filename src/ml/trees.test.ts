import { describe, expect, it } from 'vitest';
import type { OnnxAttribute, OnnxNode } from './onnx.js';
import { parseOnnx } from './onnx.js';
import { CompiledTreeEnsemble, treeEnsembleSpec } from './trees.js';

type Attrs = Record<string, number[] | string[] | string | number | Float32Array>;
function node(attrs: Attrs, opType = 'TreeEnsembleClassifier'): OnnxNode {
  const m = new Map<string, OnnxAttribute>();
  for (const [name, v] of Object.entries(attrs)) {
    if (typeof v === 'string') m.set(name, { name, type: 3, s: v });
    else if (typeof v === 'number') m.set(name, { name, type: 2, i: v });
    else if (v instanceof Float32Array) m.set(name, { name, type: 6, floats: v });
    else if (typeof v[0] === 'string') m.set(name, { name, type: 8, strings: v as string[] });
    else m.set(name, { name, type: 7, ints: v as number[] });
  }
  return { name: 't', opType, domain: 'ai.onnx.ml', inputs: ['input'], outputs: ['label', 'probabilities'], attributes: m };
}

/** one stump on feature 1 at 0.5: true branch -> class 0 gets +1, false branch -> class 1 gets +1 */
function stump(mode: string, missingTrue: 0 | 1, post = 'NONE'): OnnxNode {
  return node({
    nodes_treeids: [0, 0, 0], nodes_nodeids: [0, 1, 2], nodes_featureids: [1, 0, 0], nodes_values: Float32Array.of(0.5, 0, 0),
    nodes_modes: [mode, 'LEAF', 'LEAF'], nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [2, 0, 0], nodes_missing_value_tracks_true: [missingTrue, 0, 0],
    class_treeids: [0, 0], class_nodeids: [1, 2], class_ids: [0, 1], class_weights: Float32Array.of(1, 1), classlabels_int64s: [0, 1, 2],
    base_values: Float32Array.of(0, 0, 0.25), post_transform: post,
  });
}

function scores(n: OnnxNode, x: number[]): number[] {
  const c = new CompiledTreeEnsemble(treeEnsembleSpec(n));
  const out = new Float64Array(3);
  c.predict(Float32Array.from(x), 0, out);
  return Array.from(out);
}

describe('compiled tree ensembles', () => {
  // [mode, x, missing to true, goes true]
  it.each([
    ['BRANCH_LT', 0.4, 0, true], ['BRANCH_LT', 0.5, 0, false], ['BRANCH_LEQ', 0.5, 0, true], ['BRANCH_LEQ', 0.6, 0, false],
    ['BRANCH_GT', 0.6, 0, true], ['BRANCH_GT', 0.5, 0, false], ['BRANCH_GTE', 0.5, 0, true], ['BRANCH_GTE', 0.4, 0, false],
    ['BRANCH_LT', NaN, 1, true], ['BRANCH_LT', NaN, 0, false], ['BRANCH_LEQ', NaN, 1, true], ['BRANCH_LEQ', NaN, 0, false],
    ['BRANCH_GT', NaN, 1, true], ['BRANCH_GT', NaN, 0, false], ['BRANCH_GTE', NaN, 1, true], ['BRANCH_GTE', NaN, 0, false],
  ] as const)('%s with x=%s (NaN to true: %s) takes the true branch: %s', (mode, x, missing, toTrue) => {
    expect(scores(stump(mode, missing), [9, x])).toEqual(toTrue ? [1, 0, 0.25] : [0, 1, 0.25]);
  });

  it('applies softmax after the base values', () => {
    const p = scores(stump('BRANCH_LT', 0, 'SOFTMAX'), [0, 0]);
    const e = [Math.E, 1, Math.exp(0.25)];
    const sum = e[0]! + e[1]! + e[2]!;
    expect(p[0]).toBeCloseTo(e[0]! / sum, 12);
    expect(p[2]).toBeCloseTo(e[2]! / sum, 12);
  });

  it('sums many trees split over several generated functions', () => {
    // 300 stumps of 3 nodes each (900 nodes, more than one chunk): tree i adds 1 to class i % 3 when x0 < i
    const T = 300;
    const a: Record<string, number[]> = { nodes_treeids: [], nodes_nodeids: [], nodes_featureids: [], nodes_modes: [] as never, nodes_truenodeids: [], nodes_falsenodeids: [], class_treeids: [], class_nodeids: [], class_ids: [] };
    const modes: string[] = [];
    const values: number[] = [];
    const weights: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < 3; n++) {
        a['nodes_treeids']!.push(t);
        a['nodes_nodeids']!.push(n);
        a['nodes_featureids']!.push(0);
        modes.push(n === 0 ? 'BRANCH_LT' : 'LEAF');
        values.push(n === 0 ? t : 0);
        a['nodes_truenodeids']!.push(n === 0 ? 1 : 0);
        a['nodes_falsenodeids']!.push(n === 0 ? 2 : 0);
      }
      a['class_treeids']!.push(t);
      a['class_nodeids']!.push(1);
      a['class_ids']!.push(t % 3);
      weights.push(1);
    }
    const n = node({ ...a, nodes_modes: modes, nodes_values: Float32Array.from(values), class_weights: Float32Array.from(weights), classlabels_int64s: [0, 1, 2] });
    const c = new CompiledTreeEnsemble(treeEnsembleSpec(n));
    expect(c.trees).toBe(T);
    const out = new Float64Array(3);
    c.predict(Float32Array.of(150), 0, out);
    // trees 151..299 have x0 < t: 149 of them, by class t % 3
    const want = [0, 0, 0];
    for (let t = 151; t < T; t++) want[t % 3]!++;
    expect(Array.from(out)).toEqual(want);
  });

  it.each([
    ['a node mode it does not know', { nodes_modes: ['BRANCH_EQ', 'LEAF', 'LEAF'] }, /BRANCH_EQ is not supported/],
    ['a branch to a missing node', { nodes_truenodeids: [7, 0, 0] }, /points at a missing node/],
    ['a class id out of range', { class_ids: [0, 5] }, /class_ids 5 out of range/],
    ['attributes of different lengths', { nodes_featureids: [1, 0] }, /nodes_featureids has 2 entries/],
    ['a post transform it does not know', { post_transform: 'PROBIT' }, /PROBIT is not supported/],
  ])('refuses %s', (_what, change, message) => {
    const base = stump('BRANCH_LT', 0);
    const changed = node({}, base.opType);
    for (const [k, v] of base.attributes) changed.attributes.set(k, v);
    for (const [k, v] of node(change as Attrs).attributes) changed.attributes.set(k, v);
    expect(() => treeEnsembleSpec(changed)).toThrow(message);
  });
});

describe('ONNX reader', () => {
  it('refuses bytes that are not a model', () => {
    expect(() => parseOnnx(Buffer.from('not a model at all'))).toThrow();
    expect(() => parseOnnx(new Uint8Array(0))).toThrow(/not an ONNX model/);
  });
});
