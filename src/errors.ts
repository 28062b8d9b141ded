/** One factory for argument errors, worded the same everywhere: "Expected {expected} for {name} but received {value}". */

export type FoldtorchErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_INVALID_DATA'
  | 'ERR_NATIVE'
  | 'ERR_DISPOSED'
  | 'ERR_ADDON_LOAD'
  | 'ERR_TOOL'
  | 'ERR_OUT_OF_MEMORY';

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return `an object (${value.constructor?.name ?? 'Object'})`;
}

function withCode<E extends Error>(error: E, code: FoldtorchErrorCode): E & { code: FoldtorchErrorCode } {
  return Object.assign(error, { code });
}

/** Wrong type: a TypeError with code ERR_INVALID_ARG_TYPE. */
export function invalidType(name: string, expected: string, value: unknown): TypeError & { code: FoldtorchErrorCode } {
  return withCode(new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** Right type, wrong value: a RangeError with code ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, expected: string, value: unknown): RangeError & { code: FoldtorchErrorCode } {
  return withCode(new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`), 'ERR_OUT_OF_RANGE');
}

/** Bad content in a file: names the file (and line when known). */
export function invalidData(where: string, message: string): Error & { code: FoldtorchErrorCode } {
  return withCode(new Error(`${where}: ${message}`), 'ERR_INVALID_DATA');
}

/** An outside tool (Python, pip, a package registry) missing or failing: what happened, then numbered fixes. */
export function toolError(message: string, fixes: readonly string[]): Error & { code: FoldtorchErrorCode } {
  const steps = fixes.map((fix, i) => `  ${i + 1}. ${fix}`);
  return withCode(new Error(fixes.length ? [message, 'What to do:', ...steps].join('\n') : message), 'ERR_TOOL');
}

/** A model or step that would not fit in the device's free memory, refused before allocating. */
export function memoryError(message: string): RangeError & { code: FoldtorchErrorCode } {
  return withCode(new RangeError(message), 'ERR_OUT_OF_MEMORY');
}

export function disposedError(objectName: string): Error & { code: FoldtorchErrorCode } {
  return withCode(new Error(`${objectName} is disposed`), 'ERR_DISPOSED');
}

/** Levenshtein distance, for "did you mean" suggestions on names and recipe keys. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest candidates to `name`, best first. */
export function closestNames(name: string, candidates: readonly string[], count = 3): string[] {
  return [...candidates]
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate))
    .slice(0, count)
    .map((x) => x.candidate);
}

/** Narrowing helpers used by every validator. */
export function requireInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidType(name, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** An image size given as a side or [height, width], as timm's img_size: returns [height, width]. */
export function requireImageSize(name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): [number, number] {
  if (typeof value === 'number') {
    const side = requireInteger(name, value, min, max);
    return [side, side];
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalidType(name, 'an integer or [height, width]', value);
  return [requireInteger(`${name}[0]`, value[0], min, max), requireInteger(`${name}[1]`, value[1], min, max)];
}

export function requireNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalidType(name, 'a number', value);
  if (value < min || value > max) throw outOfRange(name, `a number from ${min} to ${max}`, value);
  return value;
}

export function requireChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') throw invalidType(name, `one of ${choices.join(', ')}`, value);
  if (!(choices as readonly string[]).includes(value)) {
    throw outOfRange(name, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

/** A typed-array check that also holds across realms (arrays made by the addon, vm contexts, test sandboxes). */
export function isTypedArrayOf(value: unknown, kind: 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint8Array'): boolean {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === `[object ${kind}]`;
}

/** An optional Float32Array of `size` values per image, each within `range` when given. */
export function checkPerImage(name: string, value: unknown, batch: number, size: number, what: string, range?: [number, number]): void {
  if (value === undefined) return;
  if (!isTypedArrayOf(value, 'Float32Array')) throw invalidType(name, 'a Float32Array', value);
  const values = value as Float32Array;
  if (values.length !== batch * size) throw outOfRange(name, `${batch * size} values (${what})`, value);
  if (range === undefined) return;
  const bad = values.findIndex((v) => !(v >= range[0] && v <= range[1]));
  if (bad >= 0) throw outOfRange(`${name}[${bad}]`, `a number from ${range[0]} to ${range[1]}`, values[bad]);
}
