/** The 8 symmetries of a square (dihedral group D4) that TTA flips and rotations generate, as plain data. */

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
  r0: 'identity', r1: 'rot90', r2: 'rot180', r3: 'rot270',
  r0f: 'hflip', r1f: 'transpose', r2f: 'vflip', r3f: 'anti-transpose',
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
