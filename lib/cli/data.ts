// `sat data <name>`: fetches a data set into data/. Each data set is one entry of SUBCOMMANDS;
// the downloading, checking and unpacking live in lib/util (download, tar) and lib/data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasAllCifarFiles, installCifar10 } from '../data/cifar10-install';
import { CIFAR10_FOLDER, CIFAR10_URL, loadCifar10 } from '../data/cifar10';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_URL } from '../data/fashion-mnist';
import { installIdxSet, type IdxSetInfo } from '../data/idx-install';
import { MNIST_URL } from '../data/mnist';
import { byteProgress, downloadFile } from '../util/download';
import { dataDir } from '../util/fs';
import { parse, UsageError } from './args';

interface Subcommand {
  /** One line for `sat data --help`. */
  usage: string;
  run: (argv: string[]) => Promise<void>;
}

const CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz';

function cifar10ManualSteps(dir: string): string {
  return (
    `to bring the data by hand, download ${CIFAR10_URL} on a machine with internet, then either put it at ` +
    `${path.join(dir, CIFAR10_ARCHIVE)} and run \`sat data cifar10\` again (it is checked and unpacked offline), ` +
    `or unpack it and copy the folder ${CIFAR10_FOLDER} into ${dir}, or set CIFAR10_DIR to that folder`
  );
}

async function cifar10Command(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse(argv, { dir: { type: 'string' }, url: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see sat data --help)`);
  const dir = path.resolve(v.dir ?? dataDir());
  const url = v.url ?? CIFAR10_URL;
  const folder = path.join(dir, CIFAR10_FOLDER);
  if (hasAllCifarFiles(folder)) {
    loadCifar10({ dir: folder, split: 'test', limit: 1 });
    console.log(`CIFAR-10 is already in ${folder}`);
    return;
  }
  const archive = path.join(dir, CIFAR10_ARCHIVE);
  const downloaded = !fs.existsSync(archive);
  if (downloaded) {
    console.error(`downloading ${url}`);
    try {
      await downloadFile(url, archive, { onProgress: byteProgress('CIFAR-10') });
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${cifar10ManualSteps(dir)}`);
    }
  } else {
    console.error(`using ${archive} (already here)`);
  }
  try {
    await installCifar10(archive, dir);
  } catch (e) {
    if (!downloaded) throw e;
    fs.rmSync(archive); // a bad download is worth nothing; the next run fetches it again
    throw new Error(`${(e as Error).message.replace(/; delete it and download it again$/, '')} (removed it; run again to retry, or ${cifar10ManualSteps(dir)})`);
  }
  fs.rmSync(archive); // unpacked and checked: the 163 MB archive is no longer needed
  console.log(`CIFAR-10 is ready in ${folder} (50000 training and 10000 test images)`);
}

/** `sat data fashion-mnist|mnist [--dir DIR] [--url URL]`: the four IDX files into DIR/<name>. */
function idxCommand(name: string, info: Omit<IdxSetInfo, 'manual'>): Subcommand {
  return {
    usage:
      `sat data ${name} [--dir DIR] [--url URL]\n` +
      `  Downloads ${info.title}'s four IDX files (*-ubyte.gz) from ${info.baseUrl}\n` +
      `  into DIR/${name} (default DIR: the project's data/) and checks them by reading them.\n` +
      `  Files already there are checked, not downloaded again.  --url   a mirror folder of the same files (https://... or file:///DIR)`,
    run: async (argv) => {
      const { values: v, positionals } = parse(argv, { dir: { type: 'string' }, url: { type: 'string' } });
      if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see sat data --help)`);
      const dir = path.join(path.resolve(v.dir ?? dataDir()), name);
      const baseUrl = v.url ? v.url.replace(/\/?$/, '/') : info.baseUrl;
      const manual = `to bring the data by hand, download the four *-ubyte.gz files from ${baseUrl} on a machine with internet and copy them into ${dir}`;
      await installIdxSet(dir, { ...info, baseUrl, manual });
      console.log(`${info.title} is ready in ${dir} (60000 training and 10000 test images)`);
    },
  };
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  'fashion-mnist': idxCommand('fashion-mnist', { title: 'Fashion-MNIST', baseUrl: FASHION_MNIST_URL, classNames: FASHION_MNIST_CLASSES }),
  mnist: idxCommand('mnist', { title: 'MNIST', baseUrl: MNIST_URL, classNames: [...'0123456789'] }),
  cifar10: {
    usage:
      `sat data cifar10 [--dir DIR] [--url URL]\n` +
      `  Downloads CIFAR-10 (binary version, 163 MB) from ${CIFAR10_URL},\n` +
      `  checks its md5 and unpacks it to DIR/${CIFAR10_FOLDER} (default DIR: the project's data/).\n` +
      `  If DIR/${CIFAR10_ARCHIVE} already exists it is checked and unpacked without downloading.\n` +
      `  --url   a mirror of the same archive`,
    run: cifar10Command,
  },
};

function usage(): string {
  return `usage:\n${Object.values(SUBCOMMANDS).map((s) => s.usage).join('\n\n')}`;
}

/** `sat data <dataset> [options]`; returns the process exit code. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '--help' || what === '-h' || what === 'help') {
    console.log(usage());
    return 0;
  }
  try {
    const names = Object.keys(SUBCOMMANDS).join(', ');
    if (!what) throw new UsageError(`which data set? One of: ${names} (see sat data --help)`);
    const sub = SUBCOMMANDS[what];
    if (!sub) throw new UsageError(`unknown data set '${what}'; sat data can fetch: ${names} (see sat data --help)`);
    if (rest.includes('--help') || rest.includes('-h')) return console.log(sub.usage), 0;
    await sub.run(rest);
    return 0;
  } catch (e) {
    console.error(`sat data: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}
