/**
 * The 8 symmetries of a square (dihedral group D4) that TTA flips and rotations generate, as plain data, plus a pure
 * TypeScript reference of their pixel ops used by tests and `foldtorch parity` (real inference flips device tensors).
 */
import { invalidType, outOfRange } from '../errors';

/** Counter-clockwise quarter turns, as `torch.rot90(x, k, dims=(2, 3))` on NCHW. */
export type QuarterTurns = 0 | 1 | 2 | 3;

/**
 * One view as the native side applies it, always in this order: hflip (flip W, dim 3), then vflip (flip H, dim 2),
 * then `rot` counter-clockwise quarter turns. A 90° or 270° turn swaps H and W of a non-square input.
 */
export interface TtaView {
  hflip: boolean;
  vflip: boolean;
  rot: QuarterTurns;
}

/** A single pixel operation; a view is a list of these applied in order. */
export type TtaOp = { op: 'hflip' } | { op: 'vflip' } | { op: 'rot90'; k: 1 | 2 | 3 };

/**
 * Canonical form of a group element: x ↦ rot90^rot(hflip^flip(x)), i.e. hflip first (when `flip`), then `rot`
 * counter-clockwise quarter turns. Every composition of flips and rotations equals exactly one of these 8.
 */
export interface Dihedral {
  rot: QuarterTurns;
  flip: boolean;
}

export const identityElement: Dihedral = Object.freeze({ rot: 0, flip: false });

function turns(k: number): QuarterTurns {
  return (((k % 4) + 4) % 4) as QuarterTurns;
}

/**
 * `after ∘ before` (apply `before` first). Uses H·R^k = R^-k·H: a reflection reverses the sense of any rotation
 * applied before it.
 */
export function composeDihedral(after: Dihedral, before: Dihedral): Dihedral {
  return { rot: turns(after.rot + (after.flip ? -before.rot : before.rot)), flip: after.flip !== before.flip };
}

/** The element of one op: hflip = (0, flip); vflip = rot180 ∘ hflip, since hflip ∘ vflip = rot180. */
export function dihedralOfOp(op: TtaOp): Dihedral {
  if (op.op === 'hflip') return { rot: 0, flip: true };
  if (op.op === 'vflip') return { rot: 2, flip: true };
  return { rot: turns(op.k), flip: false };
}

/** The element of ops applied in list order (the first op acts first). */
export function dihedralOfOps(ops: readonly TtaOp[]): Dihedral {
  return ops.reduce((acc, op) => composeDihedral(dihedralOfOp(op), acc), identityElement);
}

/** The ops of a view, in the fixed order hflip → vflip → rot. */
export function opsOfView(view: TtaView): TtaOp[] {
  const ops: TtaOp[] = [];
  if (view.hflip) ops.push({ op: 'hflip' });
  if (view.vflip) ops.push({ op: 'vflip' });
  if (view.rot !== 0) ops.push({ op: 'rot90', k: view.rot });
  return ops;
}

/** The fixed-order view of an element (never uses vflip: vflip = hflip then rot180). */
export function viewOfDihedral(element: Dihedral): TtaView {
  return { hflip: element.flip, vflip: false, rot: element.rot };
}

/** Stable key for grouping equal elements, e.g. `r0`, `r3f`. */
export function dihedralKey(element: Dihedral): string {
  return `r${element.rot}${element.flip ? 'f' : ''}`;
}

const kNames: Record<string, string> = {
  r0: 'identity',
  r1: 'rot90',
  r2: 'rot180',
  r3: 'rot270',
  r0f: 'hflip',
  r1f: 'transpose',
  r2f: 'vflip',
  r3f: 'anti-transpose',
};

/** Human name of an element: identity, rot90/180/270 (counter-clockwise), hflip, vflip, transpose, anti-transpose. */
export function dihedralName(element: Dihedral): string {
  return kNames[dihedralKey(element)];
}

/** Short label of a view for reports and logs, e.g. `hflip+rot90`. */
export function viewLabel(view: TtaView): string {
  const parts = opsOfView(view).map((op) => (op.op === 'rot90' ? `rot${op.k * 90}` : op.op));
  return parts.length ? parts.join('+') : 'identity';
}

// ---- Reference pixel ops on NCHW float arrays (tests and parity only; loops per pixel) ----

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
