import { endianness } from 'node:os';

/**
 * numpy's .npy format, version 1.0 (numpy.lib.format): the magic "\x93NUMPY", version bytes 1 0, a
 * little-endian uint16 header length, an ASCII Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (N, F), }` padded with spaces and ending in a newline
 * so the data starts on a 64-byte boundary, then the data in C (row-major) order. The bytes are the ones
 * `numpy.save` writes (numpy 1.x/2.x, including its spare header space); `numpy.load` reads them.
 */
export type NpyDtype = '<f4' | '<f8' | '|i1' | '<i8';
export type NpyArray = Float32Array | Float64Array | Int8Array | BigInt64Array;

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);

function dtypeOf(a: NpyArray): NpyDtype {
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  if (a instanceof Int8Array) return '|i1';
  return '<i8';
}

/** The bytes of a .npy file holding `data` with the given shape (the product of the shape must be its length). */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Buffer {
  if (endianness() !== 'LE') throw new Error('the .npy writer assumes a little-endian machine');
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new RangeError(`shape (${shape.join(', ')}) holds ${n} values, the data ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  // exactly as numpy.save writes it: spare spaces so the first dimension can grow in place, then padding to 64
  let header = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  header += ' '.repeat(64 - ((MAGIC.length + 2 + header.length + 1) % 64)) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  return Buffer.concat([MAGIC, len, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export interface DecodedNpy {
  dtype: NpyDtype;
  shape: number[];
  data: NpyArray;
}

/** Reads what encodeNpy writes (version 1.0, C order, the four dtypes above). */
export function decodeNpy(buf: Buffer): DecodedNpy {
  if (!buf.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error('not a .npy file');
  if (buf[6] !== 1) throw new Error(`.npy version ${buf[6]}.${buf[7]} is not supported`);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape': \(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order': True/.test(header)) throw new Error('Fortran order is not supported');
  if (descr === undefined || shapeText === undefined) throw new Error(`bad .npy header: ${header}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const start = 10 + hlen;
  const bytes = buf.subarray(start);
  const copy = new Uint8Array(bytes).buffer; // aligned copy
  let data: NpyArray;
  switch (descr) {
    case '<f4': data = new Float32Array(copy); break;
    case '<f8': data = new Float64Array(copy); break;
    case '|i1': data = new Int8Array(copy); break;
    case '<i8': data = new BigInt64Array(copy); break;
    default: throw new Error(`dtype ${descr} is not supported`);
  }
  return { dtype: descr as NpyDtype, shape, data };
}
