// Fixtures that live beside the repository (../shared/fixtures: real TensorFlow checkpoints and
// the like, too large or too foreign to commit). A user's clone has no ../shared, so tests that
// need it skip, saying once where the folder would be; CI has it, so there they run.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SHARED_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');

const announced = new Set<string>();

/** The folder ../shared/fixtures/<sub>, or undefined when it is absent. */
export function sharedFixture(sub: string): string | undefined {
  const dir = path.join(SHARED_FIXTURES, sub);
  return fs.existsSync(dir) ? dir : undefined;
}

/**
 * Call from a `before` hook or a test (`function () { skipWithoutFixture(this, 'x') }`): skips
 * it when ../shared/fixtures/<sub> is absent, printing one line per folder for the whole run.
 */
export function skipWithoutFixture(ctx: Mocha.Context, sub: string): void {
  if (sharedFixture(sub)) return;
  if (!announced.has(sub)) {
    announced.add(sub);
    console.log(`      (skipped: these tests need ${path.join(SHARED_FIXTURES, sub)}, which is absent; CI provides ../shared/fixtures beside the repository)`);
  }
  ctx.skip();
}
