import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from './npy.js';

/** numpy.save output (numpy 2.4) of the same arrays, base64 */
const NUMPY = {
  f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAwH8AAIBA',
  i1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQI=',
  i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoY2RzzB+bpFw==',
  f8empty: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDM2KSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=',
};

describe('.npy writer', () => {
  it.each([
    ['float32 matrix with a NaN', () => encodeNpy(Float32Array.from([1.5, -2, NaN, 4]), [2, 2]), NUMPY.f4],
    ['int8 vector', () => encodeNpy(Int8Array.from([0, 1, 2]), [3]), NUMPY.i1],
    ['int64 nanosecond times', () => encodeNpy(BigInt64Array.from([1723161254263839000n]), [1]), NUMPY.i8],
    ['an empty float64 matrix', () => encodeNpy(new Float64Array(0), [0, 36]), NUMPY.f8empty],
  ])('writes what numpy.save writes: %s', (_name, make, expected) => {
    expect(make().toString('base64')).toBe(expected);
  });

  it('starts the data on a 64-byte boundary for any shape', () => {
    for (const n of [0, 1, 9, 10, 12345, 99_999_999]) {
      const buf = encodeNpy(new Float64Array(0), [0, n]);
      expect(buf.length % 64, String(n)).toBe(0);
      expect(buf[buf.length - 1]).toBe(0x0a);
    }
  });

  it('reads back what it writes', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const d = decodeNpy(encodeNpy(x, [3, 2]));
    expect(d.dtype).toBe('<f8');
    expect(d.shape).toEqual([3, 2]);
    expect(Array.from(d.data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a shape that does not fit the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 2])).toThrow(RangeError);
  });
});
