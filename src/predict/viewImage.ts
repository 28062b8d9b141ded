/**
 * Pure TypeScript reference of the TTA pixel ops on NCHW float arrays, used by tests and `foldtorch parity` to check
 * view semantics against ttach; real inference flips and rotates device tensors natively.
 */
import { invalidType, outOfRange } from '../errors';
import { opsOfView, type TtaOp, type TtaView } from './dihedral';

export type Nchw = [number, number, number, number];

export interface ImageTensor {
  data: Float32Array;
  shape: Nchw;
}

function checkImage(data: unknown, shape: unknown): Nchw {
  if (!(data instanceof Float32Array)) throw invalidType('data', 'a Float32Array', data);
  const ok = Array.isArray(shape) && shape.length === 4 && shape.every((d) => Number.isInteger(d) && d >= 1);
  if (!ok) throw outOfRange('shape', 'four positive integers [B, C, H, W]', shape);
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  if (numel !== data.length) throw outOfRange('data', `${numel} values for shape [${(shape as number[]).join(', ')}]`, data);
  return shape as Nchw;
}

/** out[b, c, y, x] = data[b, c, source(y, x)] for a per-plane index map of the output shape. */
function remap(image: ImageTensor, outH: number, outW: number, source: (y: number, x: number) => number): ImageTensor {
  const [b, c, h, w] = image.shape;
  const out = new Float32Array(image.data.length);
  for (let plane = 0; plane < b * c; plane++) {
    const base = plane * h * w;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) out[base + y * outW + x] = image.data[base + source(y, x)];
    }
  }
  return { data: out, shape: [b, c, outH, outW] };
}

function applyOp(image: ImageTensor, op: TtaOp): ImageTensor {
  const [, , h, w] = image.shape;
  if (op.op === 'hflip') return remap(image, h, w, (y, x) => y * w + (w - 1 - x));
  if (op.op === 'vflip') return remap(image, h, w, (y, x) => (h - 1 - y) * w + x);
  let out = image;
  // torch.rot90(k=1, dims=(2,3)) = flip(3).transpose(2,3): out[y][x] = in[x][W-1-y], counter-clockwise on screen.
  for (let turn = 0; turn < op.k; turn++) {
    const [, , ih, iw] = out.shape;
    out = remap(out, iw, ih, (y, x) => x * iw + (iw - 1 - y));
  }
  return out;
}

/** Applies a view (fixed order hflip → vflip → rot) or an explicit op list to an NCHW image. */
export function applyViewToImage(data: Float32Array, shape: readonly number[], view: TtaView | readonly TtaOp[]): ImageTensor {
  const checked = checkImage(data, shape);
  const ops = Array.isArray(view) ? (view as readonly TtaOp[]) : opsOfView(view as TtaView);
  return ops.reduce<ImageTensor>((image, op) => applyOp(image, op), { data: Float32Array.from(data), shape: [...checked] as Nchw });
}
