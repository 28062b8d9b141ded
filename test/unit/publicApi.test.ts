/** The package root is what README documents; test hooks are reached only through 'foldtorch/testing'. */
import * as root from '../../src/index';
import * as testing from '../../src/testing';

const kTestHooks = ['raiseNativeError', 'injectNonFiniteGradient', 'createTestLearner', 'forceGradScaler'];
// Shared helpers of the modules, reachable by path inside the package but not from its root.
const kInternals = [
  'loadAddon',
  'invalidType',
  'requireInteger',
  'editDistance',
  'isTypedArrayOf',
  'writeFileAtomic',
  'RunDir',
  'composeDihedral',
  'sharpKernel',
  'svgToPng',
  'reportHtml',
  'mapKey',
  'pipDownloadCommand',
  'globToRegExpSource',
  'softmaxOfClass',
];

test('the root exports none of the test hooks and internals', () => {
  const names = Object.keys(root);
  for (const name of [...kTestHooks, ...kInternals]) expect([name, names.includes(name)]).toEqual([name, false]);
  expect(typeof root.Learner.prototype).toBe('object');
  expect('injectNonFiniteGradient' in root.Learner.prototype).toBe(false);
});

test("the root exports what README's usage calls, and no more than it documents", () => {
  for (const name of [
    'createModel',
    'crossValidate',
    'fetchWeights',
    'trainFold',
    'resolveRecipe',
    'doctor',
    'loadDataset',
    'planTta',
    'rocAucScore',
    'writeReport',
  ]) {
    expect([name, typeof (root as Record<string, unknown>)[name]]).toEqual([name, 'function']);
  }
  expect(Object.keys(root).length).toBeLessThanOrEqual(100);
});

test('foldtorch/testing holds the hooks', () => {
  expect(Object.keys(testing).sort()).toEqual([
    'batchNormActTrainCheck',
    'createTestLearner',
    'depthwiseConvTrainCheck',
    'injectNonFiniteGradient',
    'raiseNativeError',
    'useDepthwiseBackward',
  ]);
});
