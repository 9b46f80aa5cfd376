import { strict as assert } from 'node:assert';
import { ACTIVATIONS } from '../lib/activations';
import { trainHelp } from '../lib/cli/train';
import { sat } from './helpers/sat-in-process';
import { datasetNames } from '../lib/data';
import { modelNames } from '../lib/models';

describe('sat train --help', () => {
  it('lists every data set form, model and activation the registries hold', () => {
    const help = trainHelp().replace(/\s+/g, ' ');
    for (const name of [...datasetNames(), ...modelNames(), ...ACTIVATIONS]) assert.ok(help.includes(name), `--help does not list '${name}'`);
  });
});

describe('sat checkpoint --help', () => {
  it('lists each subcommand with its usage and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await sat('checkpoint', flag);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^sat checkpoint <subcommand>/);
      assert.match(r.out, /Subcommands:\n  sat checkpoint inspect <prefix> \[--json\]\n    lists the variables of a TensorFlow checkpoint/);
    }
  });
});
