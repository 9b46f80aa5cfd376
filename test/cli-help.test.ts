import { strict as assert } from 'node:assert';
import { ACTIVATIONS } from '../lib/activations';
import { trainHelp } from '../lib/cli/train';
import { datasetNames } from '../lib/data';
import { modelNames } from '../lib/models';

describe('sat train --help', () => {
  it('lists every data set form, model and activation the registries hold', () => {
    const help = trainHelp().replace(/\s+/g, ' ');
    for (const name of [...datasetNames(), ...modelNames(), ...ACTIVATIONS]) assert.ok(help.includes(name), `--help does not list '${name}'`);
  });
});
