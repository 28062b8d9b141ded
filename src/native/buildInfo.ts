/**
 * The torch a built addon is for (foldtorch.json beside each .node, written by scripts/libtorch.js --build-info)
 * against the torch the locator finds at run time: a mismatch is a worded error with the fixing commands,
 * never a symbol-lookup failure from the dynamic linker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** foldtorch.json: torch's release (no local label), its variant (cpu, cu126), the C++ ABI, where torch was. */
export interface BuildInfo {
  torch: string;
  variant: string;
  abi: number | null;
  source?: string;
  napi?: number;
}

/** What scripts/libtorch.js locate() answers. */
export interface FoundTorch {
  source: string;
  why: string;
  root: string;
  version: string;
  cuda: string | null;
  abi: number | null;
  python?: string;
}

export interface TorchLocator {
  locate(options?: { light?: boolean }): FoundTorch | null;
  variantOf(found: Pick<FoundTorch, 'version' | 'cuda'>): string;
  projectEnv: string;
  kPinnedTorch: string;
}

/** The locator shipped with the package (scripts/libtorch.js): one locator for the build and the run. */
export function torchLocator(packageRoot: string): TorchLocator {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(path.join(packageRoot, 'scripts', 'libtorch.js')) as TorchLocator;
}

/** The foldtorch.json beside `addonPath`, or null when the build has none (an older or hand-made build). */
export function readBuildInfo(addonPath: string): BuildInfo | null {
  const file = path.join(path.dirname(addonPath), 'foldtorch.json');
  if (!fs.existsSync(file)) return null;
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<BuildInfo>;
  if (typeof info.torch !== 'string' || typeof info.variant !== 'string') {
    throw new Error(`${file}: expected {"torch": "X.Y.Z", "variant": "cpu|cuXXX"} (got ${JSON.stringify(info)})`);
  }
  return { torch: info.torch, variant: info.variant, abi: info.abi ?? null, source: info.source, napi: info.napi };
}

/** The release without its local label: "2.13.0+cpu" → "2.13.0". */
export function torchRelease(version: string): string {
  return version.replace(/\+.*$/, '');
}

/** The pip command that installs the torch a build is for, into the Python the locator found (or python3). */
export function pipInstallCommand(info: Pick<BuildInfo, 'torch' | 'variant'>, python = 'python3'): string {
  const index = /^(cpu|cu\d+|rocm[\d.]+)$/.test(info.variant) ? ` --index-url https://download.pytorch.org/whl/${info.variant}` : '';
  return `${python} -m pip install torch==${info.torch}${index}`;
}

/**
 * null when the build fits the torch found; otherwise the message naming both and the fixes. Release and variant
 * must match (ABI too when both are known): libtorch has no stable C++ ABI across releases or CUDA builds.
 */
export function buildMismatch(addonPath: string, info: BuildInfo, found: FoundTorch, variant: string): string | null {
  const release = torchRelease(found.version);
  const abiDiffers = info.abi !== null && found.abi !== null && info.abi !== found.abi;
  if (release === info.torch && variant === info.variant && !abiDiffers) return null;
  const built = `torch ${info.torch} (${info.variant}${info.abi === null ? '' : `, C++11 ABI ${info.abi}`})`;
  const have = `torch ${found.version} (${variant}${found.abi === null ? '' : `, C++11 ABI ${found.abi}`})`;
  const python = found.python ?? 'python3';
  return [
    `${addonPath} was built for ${built} but the torch found is ${have} at ${found.root} (${found.why}).`,
    `    Install the torch it was built for: ${pipInstallCommand(info, python)}`,
    '    or build the addon for yours: npx foldtorch build (in the repository: npm run build:native)',
  ].join('\n');
}
