// `sat info` on the tensorflow backend: a GPU package that runs on the CPU is reported loudly.
// (No GPU here: the binding is a stand-in with the two fields tfjs-node's binding exposes.)
import { strict as assert } from 'node:assert';
import { nativeDevice } from '../lib/backend';

describe('native TensorFlow device report', () => {
  it('reports a GPU in use, with the libtensorflow version, and no warning', () => {
    assert.deepEqual(nativeDevice('@tensorflow/tfjs-node-gpu', { TF_Version: '2.9.1', isUsingGpuDevice: () => true }), { libtensorflow: '2.9.1', gpu: true });
  });

  it('warns when the GPU package runs on the CPU (CUDA 12 without CUDA 11.2 / cuDNN 8.1)', () => {
    const d = nativeDevice('@tensorflow/tfjs-node-gpu', { TF_Version: '2.9.1', isUsingGpuDevice: () => false });
    assert.equal(d.gpu, false);
    assert.match(d.warning ?? '', /tfjs-node-gpu loaded, but TensorFlow runs on the CPU.*CUDA 11\.2 and cuDNN 8\.1.*tensorflow\/tfjs#8269/);
    // A binding that cannot tell is not taken for a GPU.
    assert.match(nativeDevice('@tensorflow/tfjs-node-gpu', { TF_Version: '2.9.1' }).warning ?? '', /does not say whether it uses a GPU/);
    assert.match(nativeDevice('@tensorflow/tfjs-node-gpu', { isUsingGpuDevice: () => { throw new Error('no'); } }).warning ?? '', /does not say/);
  });

  it('the CPU package on the CPU is as expected: no warning', () => {
    assert.deepEqual(nativeDevice('@tensorflow/tfjs-node', { TF_Version: '2.9.1', isUsingGpuDevice: () => false }), { libtensorflow: '2.9.1', gpu: false });
  });
});
