/**
 * A small reader of ONNX model files (protobuf, onnx.proto3 field numbers): enough to read a graph's nodes
 * with their attributes, the opset imports and metadata_props. Used to compile a TreeEnsemble node into
 * JavaScript at load time; onnxruntime runs the same file for the check (src/ml/ort.ts).
 */

/** An attribute as ONNX stores it: AttributeProto with one of f, i, s, floats, ints, strings set. */
export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS, 8 STRINGS (0: not given) */
  type: number;
  f?: number;
  i?: number;
  s?: string;
  floats?: Float32Array;
  ints?: number[];
  strings?: string[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  graphName: string;
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Protobuf wire-format reader over one message's bytes. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    // up to 64 bits; values above 2^53 lose precision (ONNX attribute ints here are small)
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('ONNX: truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        // a negative int64 is 10 bytes of two's complement
        return i === 9 || result >= 2 ** 63 ? result - 2 ** 64 : result;
      }
      mul *= 128;
    }
    throw new Error('ONNX: varint too long');
  }
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t & 7 };
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('ONNX: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  sub(): Reader {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('ONNX: truncated message');
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  string(): string {
    return utf8.decode(this.bytes());
  }
  float(): number {
    if (this.pos + 4 > this.end) throw new Error('ONNX: truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        const n = this.varint(); // (this.pos += this.varint() would add to the position before the length)
        this.pos += n;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`ONNX: unsupported wire type ${wire}`);
    }
  }
}

function readAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0 };
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        a.name = r.string();
        break;
      case 20:
        a.type = r.varint();
        break;
      case 2:
        a.f = r.float();
        break;
      case 3:
        a.i = r.varint();
        break;
      case 4:
        a.s = r.string();
        break;
      case 7: // floats: packed (wire 2) or one per tag (wire 5)
        if (wire === 2) {
          const s = r.sub();
          while (!s.done) floats.push(s.float());
        } else floats.push(r.float());
        break;
      case 8:
        if (wire === 2) {
          const s = r.sub();
          while (!s.done) ints.push(s.varint());
        } else ints.push(r.varint());
        break;
      case 9:
        strings.push(r.string());
        break;
      default:
        r.skip(wire);
    }
  }
  if (floats.length > 0 || a.type === 6) a.floats = Float32Array.from(floats);
  if (ints.length > 0 || a.type === 7) a.ints = ints;
  if (strings.length > 0 || a.type === 8) a.strings = strings;
  return a;
}

function readNode(r: Reader): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) n.inputs.push(r.string());
    else if (field === 2) n.outputs.push(r.string());
    else if (field === 3) n.name = r.string();
    else if (field === 4) n.opType = r.string();
    else if (field === 7) n.domain = r.string();
    else if (field === 5) {
      const a = readAttribute(r.sub());
      n.attributes.set(a.name, a);
    } else r.skip(wire);
  }
  return n;
}

/** ValueInfoProto: its name (field 1) only. */
function readValueName(r: Reader): string {
  let name = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string();
    else r.skip(wire);
  }
  return name;
}

/** Parses an ONNX ModelProto. Throws on bytes that are not one. */
export function parseOnnx(bytes: Uint8Array): OnnxModel {
  const m: OnnxModel = { irVersion: 0, producerName: '', opsets: [], metadata: {}, graphName: '', nodes: [], inputs: [], outputs: [] };
  const r = new Reader(bytes);
  let sawGraph = false;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) m.irVersion = r.varint();
    else if (field === 2 && wire === 2) m.producerName = r.string();
    else if (field === 8 && wire === 2) {
      const s = r.sub();
      const o = { domain: '', version: 0 };
      while (!s.done) {
        const t = s.tag();
        if (t.field === 1) o.domain = s.string();
        else if (t.field === 2) o.version = s.varint();
        else s.skip(t.wire);
      }
      m.opsets.push(o);
    } else if (field === 14 && wire === 2) {
      const s = r.sub();
      let key = '';
      let value = '';
      while (!s.done) {
        const t = s.tag();
        if (t.field === 1) key = s.string();
        else if (t.field === 2) value = s.string();
        else s.skip(t.wire);
      }
      m.metadata[key] = value;
    } else if (field === 7 && wire === 2) {
      sawGraph = true;
      const g = r.sub();
      while (!g.done) {
        const t = g.tag();
        if (t.field === 1 && t.wire === 2) m.nodes.push(readNode(g.sub()));
        else if (t.field === 2 && t.wire === 2) m.graphName = g.string();
        else if (t.field === 11 && t.wire === 2) m.inputs.push(readValueName(g.sub()));
        else if (t.field === 12 && t.wire === 2) m.outputs.push(readValueName(g.sub()));
        else g.skip(t.wire);
      }
    } else r.skip(wire);
  }
  if (!sawGraph || m.irVersion === 0) throw new Error('not an ONNX model (no ir_version or graph)');
  return m;
}
