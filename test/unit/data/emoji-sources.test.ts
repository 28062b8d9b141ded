import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { artCacheDir, kArtPackageNames, packageDir } from '../../../src/data/emoji-sources';

describe('artwork packages: the dev dependencies, else the art cache of `foldtorch setup --art`', () => {
  const saved = process.env.FOLDTORCH_ART_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.FOLDTORCH_ART_DIR;
    else process.env.FOLDTORCH_ART_DIR = saved;
  });

  test('every package is pinned to an exact version in package.json', () => {
    const pins = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).devDependencies;
    expect(kArtPackageNames.map((name) => `${name}@${pins[name]}`)).toEqual([
      'emoji-datasource@16.0.0',
      '@discordapp/twemoji@16.0.1',
      '@iconify-json/noto@1.2.9',
      '@iconify-json/noto-v1@1.2.5',
      '@iconify-json/emojione@1.2.3',
      '@iconify-json/emojione-v1@1.2.3',
      '@iconify-json/fxemoji@1.2.2',
      '@iconify-json/streamline-emojis@1.2.4',
      'openmoji@17.0.0',
      '@iconify-json/fluent-emoji-flat@1.2.6',
      '@iconify-json/fluent-emoji-high-contrast@1.2.6',
      '@iconify-json/emojione-monotone@1.2.1',
    ]);
  });

  test('a package missing from both places names the one command that installs it', () => {
    process.env.FOLDTORCH_ART_DIR = '/nonexistent/art';
    expect(artCacheDir()).toBe('/nonexistent/art');
    expect(() => packageDir('no-such-art-package')).toThrow(
      'no-such-art-package: the emoji datasets are drawn from this npm package, which is not installed. Run: npx foldtorch setup --art (installs the pinned artwork packages into /nonexistent/art; in the repository: npm install --include=dev)',
    );
  });

  test('a package installed only in the art cache is found there', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-art-'));
    fs.mkdirSync(path.join(cache, 'node_modules', 'fake-art-set'), { recursive: true });
    fs.writeFileSync(path.join(cache, 'node_modules', 'fake-art-set', 'package.json'), '{"name":"fake-art-set","version":"1.0.0"}');
    process.env.FOLDTORCH_ART_DIR = cache;
    expect(packageDir('fake-art-set')).toBe(path.join(cache, 'node_modules', 'fake-art-set'));
    fs.rmSync(cache, { recursive: true, force: true });
  });
});
