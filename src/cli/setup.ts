/**
 * `foldtorch setup` and `foldtorch build`: an installed package made ready, as scripts/setup.sh does in the
 * repository: torch (the project environment when none is found), the addon (built only when no prebuilt fits),
 * and with --art the pinned artwork packages behind `foldtorch dataset emoji`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { artCacheDir, kArtPackageNames } from '../data/emoji-sources';
import { toolError } from '../errors';
import { loadAddon, locateTorch } from '../native/addon';
import { torchLocator } from '../native/buildInfo';

const packageRoot = path.resolve(__dirname, '..', '..', '..');

function say(line: string): void {
  process.stdout.write(`setup: ${line}\n`);
}

/** Runs a tool with its output shown; a failure is an ERR_TOOL error naming the command and the fixes. */
function runTool(command: string, args: string[], fixes: string[], cwd?: string): void {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    throw toolError(`foldtorch: \`${[command, ...args].join(' ')}\` failed (${why})`, fixes);
  }
}

function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Makes the project environment with the pinned CPU torch (the one the prebuilt is built for). */
function makeTorchEnvironment(): void {
  const { projectEnv, kPinnedTorch } = torchLocator(packageRoot);
  say(`no torch found: creating ${projectEnv} with torch==${kPinnedTorch} (CPU, about 200 MB)`);
  const python3 = [
    'Install Python 3 with venv (Debian: apt-get install python3 python3-venv), then run `npx foldtorch setup` again',
    'or set FOLDTORCH_PYTHON to a Python that has torch',
  ];
  runTool('python3', ['-m', 'venv', projectEnv], python3);
  runTool(
    path.join(projectEnv, 'bin', 'pip'),
    ['install', '-q', `torch==${kPinnedTorch}`, 'numpy', '--index-url', 'https://download.pytorch.org/whl/cpu'],
    [
      'Check the network, then run `npx foldtorch setup` again',
      `or install it yourself: ${projectEnv}/bin/pip install torch==${kPinnedTorch} --index-url https://download.pytorch.org/whl/cpu`,
    ],
  );
}

/** Builds the addon from the package's sources with cmake-js, against the torch the locator finds. */
export function buildCommand(): number {
  const missing = ['cmake', 'c++', 'make'].filter((tool) => !hasTool(tool));
  if (missing.length) {
    throw toolError(`foldtorch build: ${missing.join(', ')} not found on PATH (a build from source needs them)`, [
      'Debian/Ubuntu: apt-get install cmake g++ make',
      'or use a torch the prebuilt binary fits: `npx foldtorch doctor` names it',
    ]);
  }
  if (!locateTorch(packageRoot).found)
    throw toolError('foldtorch build: no torch found to build against', ['Run `npx foldtorch setup` first']);
  say(`building the addon in ${packageRoot} (a few minutes)`);
  runTool(
    'bash',
    [path.join(packageRoot, 'scripts', 'build-native.sh')],
    ['See the compiler output above; `npx foldtorch doctor` shows the torch used'],
    packageRoot,
  );
  say(`built ${path.join(packageRoot, 'build', 'Release', 'foldtorch.node')}`);
  return 0;
}

/** Installs the artwork packages at the versions package.json pins, into the cache the dataset reads from. */
function installArt(): void {
  const pins = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
    .devDependencies;
  const specs = kArtPackageNames.map((name) => `${name}@${pins[name]}`);
  const dir = artCacheDir();
  fs.mkdirSync(dir, { recursive: true });
  say(`installing the artwork packages into ${dir}: ${specs.join(' ')}`);
  runTool(
    'npm',
    ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel', 'error', ...specs],
    ['Check the network and npm (`npm ping`), then run `npx foldtorch setup --art` again'],
  );
}

export function setupCommand(args: { art?: boolean; build?: boolean }): number {
  if (!locateTorch(packageRoot).found) makeTorchEnvironment();
  const torch = locateTorch(packageRoot);
  // Still none: the addon's load error below says what was looked for.
  if (torch.found) say(`torch ${torch.found.version} (${torch.variant}) at ${torch.found.root}`);
  try {
    loadAddon(packageRoot);
    say('the addon loads: nothing to build');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_ADDON_LOAD' || args.build === false) throw error;
    say('no built addon fits this torch: building from source');
    buildCommand();
  }
  if (args.art) installArt();
  say('ready: `npx foldtorch doctor` shows what the addon sees');
  return 0;
}
