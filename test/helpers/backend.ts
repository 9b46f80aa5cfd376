// Tests run on wasm (with our kernels) unless SAT_TEST_BACKEND says otherwise.
import { initBackend } from '../../lib/backend';

export async function testBackend(): Promise<void> {
  await initBackend(process.env.SAT_TEST_BACKEND ?? 'wasm', true);
}
