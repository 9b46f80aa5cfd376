// usage: ROOT=/path npx tsx abattack.ts  -> CPU seconds per attack (reduced budgets) on 150 images
const root = process.env.ROOT!;
(async () => {
  const tf = await import(root + '/node_modules/@tensorflow/tfjs/dist/index.js').catch(() => import('@tensorflow/tfjs'));
  const { makeActivation } = await import(root + '/lib/activations');
  const { makeAttack } = await import(root + '/lib/attacks');
  const { initBackend } = await import(root + '/lib/backend');
  const { batches, take } = await import(root + '/lib/data');
  const { makeConfig } = await import(root + '/lib/train/config');
  const { RunFolder } = await import(root + '/lib/train/run-folder');
  const { restoreModel, runData } = await import(root + '/lib/train/trainer');
  await initBackend('wasm', true);
  const run = new RunFolder('/work/main/results/relu-vs-smooth-backward-medium/relu-vs-smooth-backward-fashion-mnist-mnist-cnn-relu-s0-2d690506');
  const config = makeConfig(run.readConfig());
  const data = await runData(config);
  const model = restoreModel(config, data, run.files.checkpoint);
  const act = makeActivation('relu');
  const { x, y } = batches(take(data.test, 150), { batchSize: 150 }).next().value!;
  const logits = (x: any) => model.apply(x, { training: false, act });
  const out: Record<string, number> = {};
  for (const c of [{ type: 'apgd-ce', eps: 0.1 }, { type: 'apgd-t', eps: 0.1, targets: 1 }, { type: 'fab-t', eps: 0.1, targets: 1 }, { type: 'square', eps: 0.1, queries: 400 }] as any[]) {
    const a = makeAttack(c);
    const c0 = process.cpuUsage();
    const adv = a.perturb(logits, x, y, { seed: 0 });
    const u = process.cpuUsage(c0);
    adv.dispose();
    out[c.type] = +((u.user + u.system) / 1e6).toFixed(2);
  }
  console.log(JSON.stringify(out));
})();
