import type { OnnxNode } from './onnx.js';

/**
 * ONNX `ai.onnx.ml` TreeEnsembleClassifier / TreeEnsembleRegressor, compiled into JavaScript.
 *
 * The node's attributes (nodes_* and class_* or target_*) become one `if` per branch node: the feature
 * read from the input row, compared with the threshold as ONNX says (BRANCH_LT `x < t`, BRANCH_LEQ `x <= t`,
 * BRANCH_GT, BRANCH_GTE; a NaN input takes the true branch when `nodes_missing_value_tracks_true` is 1, else
 * the false branch), leaves adding their weights to the per-class scores, which start at `base_values`;
 * then `post_transform` (NONE, SOFTMAX, LOGISTIC). Thresholds are float32 in the file and inputs should be
 * float32 values (a Float32Array row): the comparisons are then exactly onnxruntime's.
 *
 * V8 does not optimize very large functions, so the trees are split into chunks of a few hundred nodes,
 * each a function of its own; evaluation is one call per chunk, no allocation.
 */

export type PostTransform = 'NONE' | 'SOFTMAX' | 'LOGISTIC';
type Mode = 'BRANCH_LT' | 'BRANCH_LEQ' | 'BRANCH_GT' | 'BRANCH_GTE' | 'LEAF';
const MODES: readonly Mode[] = ['BRANCH_LT', 'BRANCH_LEQ', 'BRANCH_GT', 'BRANCH_GTE', 'LEAF'];

interface TreeNode {
  mode: Mode;
  feature: number;
  threshold: number;
  missingTrue: boolean;
  trueId: number;
  falseId: number;
  /** [class/target, weight] pairs of a leaf */
  weights: [number, number][];
}

export interface TreeEnsembleSpec {
  opType: 'TreeEnsembleClassifier' | 'TreeEnsembleRegressor';
  /** number of outputs: classes (classifier) or targets (regressor) */
  outputs: number;
  /** the class labels (classifier) */
  classLabels: number[];
  baseValues: Float64Array;
  postTransform: PostTransform;
  /** trees by id, each a map node id -> node */
  trees: Map<number, Map<number, TreeNode>>;
  /** the highest feature index read (the input row needs at least this + 1 values) */
  maxFeature: number;
  nodeCount: number;
}

/** `(x, offset, scores)`: adds one chunk of trees' leaf weights for the row at x[offset..] to scores. */
type Chunk = (x: ArrayLike<number>, o: number, s: Float64Array) => void;

function ints(node: OnnxNode, name: string, required = true): number[] {
  const a = node.attributes.get(name);
  if (!a?.ints) {
    if (required) throw new Error(`${node.opType}: attribute ${name} missing`);
    return [];
  }
  return a.ints;
}
function floats(node: OnnxNode, name: string, required = true): Float32Array {
  const a = node.attributes.get(name);
  if (a?.floats) return a.floats;
  if (node.attributes.get(`${name}_as_tensor`)) throw new Error(`${node.opType}: ${name}_as_tensor (double thresholds) is not supported`);
  if (required) throw new Error(`${node.opType}: attribute ${name} missing`);
  return new Float32Array(0);
}

/** Reads and checks a TreeEnsembleClassifier/Regressor node's attributes. */
export function treeEnsembleSpec(node: OnnxNode): TreeEnsembleSpec {
  const op = node.opType;
  if (op !== 'TreeEnsembleClassifier' && op !== 'TreeEnsembleRegressor') throw new Error(`not a tree ensemble: ${op}`);
  if (node.domain !== 'ai.onnx.ml') throw new Error(`${op}: domain ${node.domain}, expected ai.onnx.ml`);
  const classifier = op === 'TreeEnsembleClassifier';
  const treeIds = ints(node, 'nodes_treeids');
  const nodeIds = ints(node, 'nodes_nodeids');
  const featureIds = ints(node, 'nodes_featureids');
  const values = floats(node, 'nodes_values');
  const modes = node.attributes.get('nodes_modes')?.strings;
  const trueIds = ints(node, 'nodes_truenodeids');
  const falseIds = ints(node, 'nodes_falsenodeids');
  const missing = ints(node, 'nodes_missing_value_tracks_true', false);
  if (!modes) throw new Error(`${op}: attribute nodes_modes missing`);
  const n = treeIds.length;
  for (const [name, len] of [['nodes_nodeids', nodeIds.length], ['nodes_featureids', featureIds.length], ['nodes_values', values.length], ['nodes_modes', modes.length], ['nodes_truenodeids', trueIds.length], ['nodes_falsenodeids', falseIds.length]] as const) {
    if (len !== n) throw new Error(`${op}: ${name} has ${len} entries, nodes_treeids ${n}`);
  }
  if (missing.length !== 0 && missing.length !== n) throw new Error(`${op}: nodes_missing_value_tracks_true has ${missing.length} entries, expected ${n}`);
  const hitrates = node.attributes.get('nodes_hitrates');
  void hitrates; // informational in ONNX
  const trees = new Map<number, Map<number, TreeNode>>();
  let maxFeature = -1;
  for (let i = 0; i < n; i++) {
    const mode = modes[i] as Mode;
    if (!MODES.includes(mode)) throw new Error(`${op}: node mode ${modes[i]} is not supported (BRANCH_LT, BRANCH_LEQ, BRANCH_GT, BRANCH_GTE, LEAF)`);
    let t = trees.get(treeIds[i]!);
    if (!t) trees.set(treeIds[i]!, (t = new Map()));
    if (t.has(nodeIds[i]!)) throw new Error(`${op}: tree ${treeIds[i]} has node ${nodeIds[i]} twice`);
    const leaf = mode === 'LEAF';
    if (!leaf) maxFeature = Math.max(maxFeature, featureIds[i]!);
    t.set(nodeIds[i]!, { mode, feature: featureIds[i]!, threshold: values[i]!, missingTrue: missing[i] === 1, trueId: trueIds[i]!, falseId: falseIds[i]!, weights: [] });
  }
  const prefix = classifier ? 'class' : 'target';
  const wTree = ints(node, `${prefix}_treeids`);
  const wNode = ints(node, `${prefix}_nodeids`);
  const wId = ints(node, `${prefix}_ids`);
  const w = floats(node, `${prefix}_weights`);
  if (wNode.length !== wTree.length || wId.length !== wTree.length || w.length !== wTree.length) throw new Error(`${op}: ${prefix}_* attributes differ in length`);
  let classLabels: number[] = [];
  let outputs: number;
  if (classifier) {
    classLabels = ints(node, 'classlabels_int64s', false);
    if (classLabels.length === 0) throw new Error(`${op}: only classlabels_int64s is supported`);
    outputs = classLabels.length;
  } else {
    outputs = node.attributes.get('n_targets')?.i ?? 1;
    const agg = node.attributes.get('aggregate_function')?.s ?? 'SUM';
    if (agg !== 'SUM') throw new Error(`${op}: aggregate_function ${agg} is not supported (SUM)`);
  }
  for (let i = 0; i < wTree.length; i++) {
    const leaf = trees.get(wTree[i]!)?.get(wNode[i]!);
    if (!leaf) throw new Error(`${op}: ${prefix} weight for tree ${wTree[i]} node ${wNode[i]} that does not exist`);
    if (leaf.mode !== 'LEAF') throw new Error(`${op}: ${prefix} weight on branch node ${wNode[i]} of tree ${wTree[i]}`);
    if (!(wId[i]! >= 0 && wId[i]! < outputs)) throw new Error(`${op}: ${prefix}_ids ${wId[i]} out of range 0..${outputs - 1}`);
    leaf.weights.push([wId[i]!, w[i]!]);
  }
  // every branch points at nodes of its own tree, and trees have no cycles (checked when compiling)
  for (const [tid, t] of trees) {
    if (!t.has(0)) throw new Error(`${op}: tree ${tid} has no node 0 (root)`);
    for (const [nid, nd] of t) {
      if (nd.mode === 'LEAF') continue;
      if (!t.has(nd.trueId) || !t.has(nd.falseId)) throw new Error(`${op}: tree ${tid} node ${nid} points at a missing node`);
    }
  }
  const base = floats(node, 'base_values', false);
  if (base.length !== 0 && base.length !== outputs) throw new Error(`${op}: base_values has ${base.length} entries, expected ${outputs}`);
  const post = (node.attributes.get('post_transform')?.s ?? 'NONE') as PostTransform;
  if (post !== 'NONE' && post !== 'SOFTMAX' && post !== 'LOGISTIC') throw new Error(`${op}: post_transform ${post} is not supported (NONE, SOFTMAX, LOGISTIC)`);
  if (classifier && outputs === 2 && wId.every((c) => c === 1)) throw new Error(`${op}: binary classifier with one score column is not supported`);
  return {
    opType: op,
    outputs,
    classLabels,
    baseValues: base.length === 0 ? new Float64Array(outputs) : Float64Array.from(base),
    postTransform: post,
    trees,
    maxFeature,
    nodeCount: n,
  };
}

/** a number literal that reads back as exactly the same double */
function lit(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** The JS test that sends a row down the true branch (NaN included when the node says so). */
function condition(nd: TreeNode): string {
  const x = `x[o + ${nd.feature}]`;
  const t = lit(nd.threshold);
  // a comparison with NaN is false: negating the opposite comparison sends NaN to the true branch
  switch (nd.mode) {
    case 'BRANCH_LT':
      return nd.missingTrue ? `!(${x} >= ${t})` : `${x} < ${t}`;
    case 'BRANCH_LEQ':
      return nd.missingTrue ? `!(${x} > ${t})` : `${x} <= ${t}`;
    case 'BRANCH_GT':
      return nd.missingTrue ? `!(${x} <= ${t})` : `${x} > ${t}`;
    case 'BRANCH_GTE':
      return nd.missingTrue ? `!(${x} < ${t})` : `${x} >= ${t}`;
    default:
      throw new Error('condition of a leaf');
  }
}

function treeCode(tree: Map<number, TreeNode>, tid: number): string {
  const out: string[] = [];
  const emit = (id: number, depth: number, pad: string): void => {
    if (depth > 256) throw new Error(`tree ${tid} is deeper than 256 (or has a cycle)`);
    const nd = tree.get(id)!;
    if (nd.mode === 'LEAF') {
      for (const [c, w] of nd.weights) out.push(`${pad}s[${c}] += ${lit(w)};`);
      return;
    }
    out.push(`${pad}if (${condition(nd)}) {`);
    emit(nd.trueId, depth + 1, `${pad} `);
    out.push(`${pad}} else {`);
    emit(nd.falseId, depth + 1, `${pad} `);
    out.push(`${pad}}`);
  };
  emit(0, 0, ' ');
  return out.join('\n');
}

/** Largest number of nodes in one generated function (V8 optimizes functions up to ~60 KB of bytecode). */
const CHUNK_NODES = 400;

/**
 * A tree ensemble compiled to JavaScript: `predict(x, offset, out)` writes the outputs (class probabilities
 * after SOFTMAX) for the row x[offset .. offset + inputs) into out[0 .. outputs). No allocation per call.
 */
export class CompiledTreeEnsemble {
  readonly outputs: number;
  readonly inputs: number;
  readonly trees: number;
  readonly nodes: number;
  readonly postTransform: PostTransform;
  private readonly chunks: Chunk[];
  private readonly base: Float64Array;
  private readonly scores: Float64Array;

  constructor(readonly spec: TreeEnsembleSpec) {
    this.outputs = spec.outputs;
    this.inputs = spec.maxFeature + 1;
    this.trees = spec.trees.size;
    this.nodes = spec.nodeCount;
    this.postTransform = spec.postTransform;
    this.base = spec.baseValues;
    this.scores = new Float64Array(spec.outputs);
    const chunks: Chunk[] = [];
    let body: string[] = [];
    let size = 0;
    const flush = (): void => {
      if (body.length === 0) return;
      // generated from the model's own numbers and integers only: no text of the file reaches the code
      chunks.push(new Function('x', 'o', 's', `"use strict";\n${body.join('\n')}`) as Chunk);
      body = [];
      size = 0;
    };
    for (const tid of [...spec.trees.keys()].sort((a, b) => a - b)) {
      const tree = spec.trees.get(tid)!;
      if (size > 0 && size + tree.size > CHUNK_NODES) flush();
      body.push(treeCode(tree, tid));
      size += tree.size;
    }
    flush();
    this.chunks = chunks;
  }

  /** Raw scores (before post_transform) of one row, into out. */
  scoresInto(x: ArrayLike<number>, offset: number, out: Float64Array): void {
    out.set(this.base);
    const chunks = this.chunks;
    for (let i = 0; i < chunks.length; i++) chunks[i]!(x, offset, out);
  }

  /** Outputs of one row (probabilities for SOFTMAX) into out[0 .. outputs). */
  predict(x: ArrayLike<number>, offset: number, out: Float64Array): void {
    const s = this.scores;
    this.scoresInto(x, offset, s);
    const n = this.outputs;
    switch (this.postTransform) {
      case 'NONE':
        for (let k = 0; k < n; k++) out[k] = s[k]!;
        return;
      case 'LOGISTIC':
        for (let k = 0; k < n; k++) out[k] = 1 / (1 + Math.exp(-s[k]!));
        return;
      case 'SOFTMAX': {
        let max = -Infinity;
        for (let k = 0; k < n; k++) if (s[k]! > max) max = s[k]!;
        let sum = 0;
        for (let k = 0; k < n; k++) {
          const e = Math.exp(s[k]! - max);
          out[k] = e;
          sum += e;
        }
        for (let k = 0; k < n; k++) out[k] = out[k]! / sum;
        return;
      }
    }
  }
}
