// The TensorFlow checkpoint (TensorBundle) reader: real TF files, files from our writer,
// corrupt and truncated inputs, and the `sat checkpoint inspect` command.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CheckpointError,
  crc32c,
  crc32cExtend,
  halfToFloat,
  maskCrc,
  openCheckpoint,
  unmaskCrc,
  type CheckpointTensor,
} from '../lib/checkpoint';
import { checkpointCommand } from '../lib/cli/checkpoint';
import { sat } from './helpers/sat-in-process';
import { writeCheckpoint, type TensorToWrite } from './helpers/tf-checkpoint-writer';
import { sharedFixture, skipWithoutFixture } from './helpers/fixtures';

// Real TensorFlow checkpoints from ../shared/fixtures (absent in a plain clone: those tests skip).
const FIXTURES = sharedFixture('tf-checkpoints') ?? '(absent)';

interface ExpectedVariable {
  folder: string;
  name: string;
  dtype: string;
  shape: number[];
  /** The README's value column: a number, a list of numbers, or a note on a string. */
  value: string;
}

/** Parses the fixture README's table: `name`: dtype, [shape], value; ... per folder. */
function readmeVariables(): ExpectedVariable[] {
  const readme = fs.readFileSync(path.join(FIXTURES, 'README.md'), 'utf8');
  const out: ExpectedVariable[] = [];
  for (const row of readme.split('\n').filter((l) => l.startsWith('| `'))) {
    const [, folderCell, , varsCell] = row.split('|').map((c) => c.trim());
    const folder = folderCell.replace(/`/g, '');
    for (const v of varsCell.split('; ')) {
      const m = /^`([^`]+)`: (\w+), \[([\d,]*)\],? (.+)$/.exec(v.trim());
      assert.ok(m, `cannot parse README entry ${v}`);
      out.push({ folder, name: m[1], dtype: m[2], shape: m[3] ? m[3].split(',').map(Number) : [], value: m[4] });
    }
  }
  return out;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sat-ckpt-'));
}

function flat(t: CheckpointTensor): unknown[] {
  return Array.from(t.values as ArrayLike<unknown>);
}

/** Asserts `fn` throws a CheckpointError whose message contains every one of `parts`. */
function assertThrowsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message lacks "${p}": ${e.message}`);
    return true;
  });
}

describe('checkpoint: crc32c', () => {
  it('matches the Castagnoli check value and TF masking', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    // 32 bytes of zeros, from RFC 3720 (iSCSI) B.4.
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    for (const c of [0, 1, 0xe3069283, 0xffffffff]) assert.equal(unmaskCrc(maskCrc(c)), c);
    // float32 0.5 as TF wrote it: the BundleEntryProto holds the masked crc 0x1f273806.
    assert.equal(maskCrc(crc32c(Uint8Array.of(0, 0, 0, 0x3f))), 0x1f273806);
  });

  it('matches a bitwise reference, in one call or extended piece by piece', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
    let bytewise = 0xffffffff;
    for (const b of bytes) {
      bytewise ^= b;
      for (let k = 0; k < 8; k++) bytewise = bytewise & 1 ? (bytewise >>> 1) ^ 0x82f63b78 : bytewise >>> 1;
    }
    assert.equal(crc32c(bytes), (~bytewise) >>> 0);
    assert.equal(crc32cExtend(crc32c(bytes.subarray(0, 333)), bytes.subarray(333)), crc32c(bytes));
  });
});

describe('checkpoint: real TensorFlow files', () => {
  const expected = sharedFixture('tf-checkpoints') ? readmeVariables() : [];
  before(function () {
    skipWithoutFixture(this, 'tf-checkpoints');
  });

  it('finds every variable the fixture README lists', () => {
    assert.deepEqual([...new Set(expected.map((e) => e.folder))].sort(), ['half_plus_two_cpu', 'half_plus_two_mkl', 'half_plus_two_tf2_cpu']);
    assert.equal(expected.length, 18);
  });

  for (const folder of ['half_plus_two_cpu', 'half_plus_two_mkl', 'half_plus_two_tf2_cpu']) {
    it(`reads ${folder} exactly`, () => {
      const ckpt = openCheckpoint(path.join(FIXTURES, folder, 'variables'));
      assert.equal(ckpt.numShards, 1);
      const want = expected.filter((e) => e.folder === folder);
      assert.deepEqual(ckpt.list().map((v) => v.name), want.map((e) => e.name).sort());
      for (const e of want) {
        const info = ckpt.info(e.name);
        const t = ckpt.read(e.name);
        assert.equal(t.dtype, e.dtype, e.name);
        assert.equal(info.dtype, e.dtype, e.name);
        assert.deepEqual(t.shape, e.shape, e.name);
        assert.deepEqual(info.shape, e.shape, e.name);
        if (e.dtype === 'string') {
          // "(619 bytes at offset 12)": a varint length (2 bytes), a 4-byte length checksum, 613 bytes.
          assert.equal(info.sizeBytes, Number(/\((\d+) bytes/.exec(e.value)![1]));
          const strings = t.values as Uint8Array[];
          assert.equal(strings.length, 1);
          assert.equal(strings[0].length, info.sizeBytes - 6);
          assert.equal(strings[0][0], 0x0a); // a serialized TrackableObjectGraph: field 1, bytes
        } else {
          assert.ok(t.values instanceof Float32Array);
          const values = e.value.startsWith('[') ? (JSON.parse(e.value) as number[]) : [Number(e.value)];
          assert.deepEqual(Array.from(t.values), values.map(Math.fround), e.name);
          assert.equal(info.sizeBytes, 4 * values.length);
        }
      }
    });
  }

  it('accepts the .index path or the folder instead of the prefix', () => {
    const dir = path.join(FIXTURES, 'half_plus_two_mkl');
    for (const p of [dir, path.join(dir, 'variables.index'), path.join(dir, 'variables.data-00000-of-00001')]) {
      assert.equal(openCheckpoint(p).prefix, path.join(dir, 'variables'));
    }
  });

  it('our writer reproduces a real TF index byte for byte', () => {
    // Validates the writer that the generated-file tests below rely on.
    const src = path.join(FIXTURES, 'half_plus_two_mkl', 'variables');
    const ckpt = openCheckpoint(src);
    const dir = tmpDir();
    try {
      const tensors = ckpt.list().map((v) => {
        const t = ckpt.read(v.name);
        return { name: t.name, dtype: t.dtype, shape: t.shape, data: t.values as Float32Array };
      });
      writeCheckpoint(path.join(dir, 'copy'), tensors);
      assert.ok(fs.readFileSync(path.join(dir, 'copy.index')).equals(fs.readFileSync(`${src}.index`)));
      assert.ok(fs.readFileSync(path.join(dir, 'copy.data-00000-of-00001')).equals(fs.readFileSync(`${src}.data-00000-of-00001`)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkpoint: generated TensorBundle files', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const utf8 = (s: string) => new TextEncoder().encode(s);
  const big = 2n ** 60n + 7n; // beyond Number.MAX_SAFE_INTEGER
  const allDtypes: TensorToWrite[] = [
    { name: 'f32', dtype: 'float32', shape: [2, 3], data: Float32Array.of(0, -1.5, 3.25, 1e-30, Infinity, -0) },
    { name: 'f64', dtype: 'float64', shape: [2], data: Float64Array.of(Math.PI, -1e300) },
    // float16 bits: 1, -2, 65504 (max), 2^-24 (smallest subnormal), -0, inf, -inf, NaN
    { name: 'f16', dtype: 'float16', shape: [8], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00) },
    // bfloat16 bits: 1, -2.5, 3.140625
    { name: 'bf16', dtype: 'bfloat16', shape: [3], data: Uint16Array.of(0x3f80, 0xc020, 0x4049) },
    { name: 'i8', dtype: 'int8', shape: [3], data: Int8Array.of(-128, 0, 127) },
    { name: 'i16', dtype: 'int16', shape: [2], data: Int16Array.of(-32768, 32767) },
    { name: 'i32', dtype: 'int32', shape: [1, 3], data: Int32Array.of(-2147483648, 0, 2147483647) },
    { name: 'i64', dtype: 'int64', shape: [3], data: BigInt64Array.of(-big, 1000n, big) },
    { name: 'u8', dtype: 'uint8', shape: [2], data: Uint8Array.of(0, 255) },
    { name: 'u16', dtype: 'uint16', shape: [1], data: Uint16Array.of(65535) },
    { name: 'u32', dtype: 'uint32', shape: [1], data: Uint32Array.of(4294967295) },
    { name: 'u64', dtype: 'uint64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
    { name: 'flags', dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) },
    { name: 'words', dtype: 'string', shape: [2, 2], data: [utf8('hello'), utf8(''), utf8('grüße'), new Uint8Array(300).fill(7)] },
    { name: 'scalar', dtype: 'float32', shape: [], data: Float32Array.of(42) },
    { name: 'empty', dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
  ];

  it('reads every supported dtype', () => {
    writeCheckpoint(path.join(dir, 'all'), allDtypes);
    const ckpt = openCheckpoint(path.join(dir, 'all'));
    const read = (name: string) => ckpt.read(name);
    assert.deepEqual(flat(read('f32')), [0, -1.5, 3.25, Math.fround(1e-30), Infinity, -0]);
    assert.ok(Object.is(flat(read('f32'))[5], -0));
    assert.deepEqual(read('f32').shape, [2, 3]);
    assert.ok(read('f64').values instanceof Float64Array);
    assert.deepEqual(flat(read('f64')), [Math.PI, -1e300]);
    const f16 = read('f16');
    assert.ok(f16.values instanceof Float32Array);
    assert.deepEqual(flat(f16).slice(0, 7), [1, -2, 65504, 2 ** -24, -0, Infinity, -Infinity]);
    assert.ok(Object.is(flat(f16)[4], -0));
    assert.ok(Number.isNaN(flat(f16)[7]));
    assert.deepEqual(flat(read('bf16')), [1, -2.5, 3.140625]);
    assert.deepEqual(flat(read('i8')), [-128, 0, 127]);
    assert.deepEqual(flat(read('i16')), [-32768, 32767]);
    assert.deepEqual(flat(read('i32')), [-2147483648, 0, 2147483647]);
    assert.ok(read('i64').values instanceof BigInt64Array);
    assert.deepEqual(flat(read('i64')), [-big, 1000n, big]);
    assert.deepEqual(flat(read('u8')), [0, 255]);
    assert.deepEqual(flat(read('u16')), [65535]);
    assert.deepEqual(flat(read('u32')), [4294967295]);
    assert.deepEqual(flat(read('u64')), [2n ** 64n - 1n]);
    assert.equal(read('flags').dtype, 'bool');
    assert.deepEqual(flat(read('flags')), [1, 0, 1]);
    const words = read('words');
    assert.deepEqual(words.shape, [2, 2]);
    assert.deepEqual((words.values as Uint8Array[]).map((b) => Buffer.from(b).toString('utf8')), ['hello', '', 'grüße', '\x07'.repeat(300)]);
    assert.deepEqual(read('scalar').shape, []);
    assert.deepEqual(flat(read('scalar')), [42]);
    assert.deepEqual(read('empty').shape, [0, 4]);
    assert.equal(read('empty').values.length, 0);
    assert.deepEqual(
      ckpt.list().map((v) => v.name),
      allDtypes.map((t) => t.name).sort(),
    );
    assert.deepEqual(ckpt.info('i32'), { name: 'i32', dtype: 'int32', shape: [1, 3], sizeBytes: 12, partitioned: false });
  });

  it('converts float16 bits like IEEE 754 half precision', () => {
    assert.equal(halfToFloat(0x3555), Math.fround(0.333251953125));
    assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24); // largest subnormal
    assert.equal(halfToFloat(0x0400), 2 ** -14); // smallest normal
  });

  for (const compression of ['none', 'snappy'] as const) {
    it(`reads an index of many blocks (${compression}) and data in several shards`, () => {
      const tensors: TensorToWrite[] = Array.from({ length: 300 }, (_, i) => ({
        name: `model/block_${String(i % 30).padStart(2, '0')}/conv_${Math.floor(i / 30)}/kernel`,
        dtype: 'float32',
        shape: [2, i % 5],
        data: Float32Array.from({ length: 2 * (i % 5) }, (_, j) => i + j / 10),
      }));
      const written = writeCheckpoint(path.join(dir, 'model.ckpt-7'), tensors, { numShards: 3, blockSize: 256, restartInterval: 4, compression });
      assert.ok(written.dataBlocks > 20, `only ${written.dataBlocks} data blocks`);
      if (compression === 'snappy') assert.ok(written.compressedBlocks > 20, `only ${written.compressedBlocks} snappy blocks`);
      else assert.equal(written.compressedBlocks, 0);
      assert.deepEqual(written.dataPaths.map((p) => path.basename(p)), [0, 1, 2].map((i) => `model.ckpt-7.data-0000${i}-of-00003`));
      const ckpt = openCheckpoint(path.join(dir, 'model.ckpt-7'));
      assert.equal(ckpt.numShards, 3);
      const names = ckpt.list().map((v) => v.name);
      assert.deepEqual(names, tensors.map((t) => t.name).sort());
      for (const [i, t] of tensors.entries()) {
        const got = ckpt.read(t.name);
        assert.deepEqual(got.shape, t.shape);
        assert.deepEqual(flat(got), Array.from(t.data as Float32Array), `tensor ${i}`);
      }
    });
  }

  it('keeps at most one copy of a large tensor: reads it at its offset', () => {
    const n = 1 << 20;
    const data = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    writeCheckpoint(path.join(dir, 'big'), [
      { name: 'a_small', dtype: 'int32', shape: [1], data: Int32Array.of(5) },
      { name: 'big', dtype: 'float32', shape: [1024, 1024], data },
    ]);
    const t = openCheckpoint(path.join(dir, 'big')).read('big');
    assert.equal(t.values.length, n);
    assert.equal((t.values as Float32Array).buffer.byteLength, 4 * n); // a view on the bytes read, not a copy
    assert.equal((t.values as Float32Array)[n - 1], (n - 1) * 0.5);
  });

  it('lists dtypes it cannot decode and refuses to read them clearly', () => {
    writeCheckpoint(path.join(dir, 'cx'), [{ name: 'z', dtype: 8, shape: [1], data: new Float32Array(2) }]);
    const ckpt = openCheckpoint(path.join(dir, 'cx'));
    assert.equal(ckpt.info('z').dtype, 'complex64');
    assertThrowsWith(() => ckpt.read('z'), '"z"', 'complex64', 'not supported', 'float32');
  });

  it('resolves a folder through its TF `checkpoint` state file, and asks which prefix when several', () => {
    const t: TensorToWrite[] = [{ name: 'w', dtype: 'float32', shape: [1], data: Float32Array.of(1) }];
    writeCheckpoint(path.join(dir, 'model.ckpt-1'), t);
    writeCheckpoint(path.join(dir, 'model.ckpt-2'), t);
    assertThrowsWith(() => openCheckpoint(dir), 'model.ckpt-1.index', 'model.ckpt-2.index', 'pass one prefix');
    fs.writeFileSync(path.join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-2"\nall_model_checkpoint_paths: "model.ckpt-1"\n');
    assert.equal(openCheckpoint(dir).prefix, path.join(dir, 'model.ckpt-2'));
  });

  describe('errors', () => {
    const tensors: TensorToWrite[] = [
      { name: 'dense/bias', dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) },
      { name: 'dense/kernel', dtype: 'float32', shape: [2, 4], data: Float32Array.from({ length: 8 }, (_, i) => i) },
      { name: 'labels', dtype: 'string', shape: [2], data: [utf8('cat'), utf8('dog')] },
    ];
    let prefix: string;
    let index: string;
    let shard: string;
    beforeEach(() => {
      prefix = path.join(dir, 'model.ckpt-1000');
      const w = writeCheckpoint(prefix, tensors, { numShards: 1 });
      index = w.indexPath;
      shard = w.dataPaths[0];
    });
    const patch = (file: string, at: number, xor = 0x01) => {
      const b = fs.readFileSync(file);
      b[at < 0 ? b.length + at : at] ^= xor;
      fs.writeFileSync(file, b);
    };

    it('a missing checkpoint names the paths tried and how a prefix looks', () => {
      assertThrowsWith(() => openCheckpoint(path.join(dir, 'nope')), `${path.join(dir, 'nope')}.index`, 'model.ckpt-1000.index', 'model.ckpt-1000.data-00000-of-00001');
      assertThrowsWith(() => openCheckpoint(dir + '/model.ckpt'), 'model.ckpt.index');
    });

    it('a bad magic number or a truncated index names the index file', () => {
      patch(index, -1);
      assertThrowsWith(() => openCheckpoint(prefix), index, 'magic');
      fs.writeFileSync(index, fs.readFileSync(index).subarray(0, 30));
      assertThrowsWith(() => openCheckpoint(prefix), index, 'truncated');
    });

    it('a corrupt index block fails its checksum', () => {
      patch(index, 10);
      assertThrowsWith(() => openCheckpoint(prefix), index, 'checksum mismatch', 'data block at offset 0');
    });

    it('a truncated data shard names the file and the variable', () => {
      const ckpt = openCheckpoint(prefix);
      fs.truncateSync(shard, 20);
      assert.deepEqual(flat(ckpt.read('dense/bias')), [1, 2, 3, 4]); // bytes [0, 16) are still there
      assertThrowsWith(() => ckpt.read('dense/kernel'), shard, '"dense/kernel"', 'truncated', '[16, 48)', 'has 20 bytes');
    });

    it('corrupt tensor bytes fail the checksum, naming the file and the variable', () => {
      patch(shard, 20);
      const ckpt = openCheckpoint(prefix);
      assertThrowsWith(() => ckpt.read('dense/kernel'), shard, '"dense/kernel"', 'checksum mismatch');
      // Without verification the (wrong) bytes come through.
      const unchecked = openCheckpoint(prefix, { verifyChecksums: false }).read('dense/kernel');
      assert.notDeepEqual(flat(unchecked), [0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('corrupt string lengths fail the length checksum; corrupt string bytes the entry checksum', () => {
      const offset = 48; // after the two float tensors
      patch(shard, offset, 0x02); // first length 3 -> 1
      assertThrowsWith(() => openCheckpoint(prefix).read('labels'), '"labels"', 'length checksum', shard);
      patch(shard, offset, 0x02);
      patch(shard, -1); // last byte of "dog"
      assertThrowsWith(() => openCheckpoint(prefix).read('labels'), '"labels"', 'checksum mismatch', shard);
    });

    it('a missing data shard names the file and the variable', () => {
      fs.rmSync(shard);
      assertThrowsWith(() => openCheckpoint(prefix).read('dense/bias'), shard, '"dense/bias"', 'missing');
    });

    it('an unknown variable name suggests similar names', () => {
      assertThrowsWith(() => openCheckpoint(prefix).read('bias'), 'no variable "bias"', 'dense/bias', 'sat checkpoint inspect');
    });
  });
});

describe('sat checkpoint inspect', () => {
  /** Runs the command, capturing console.log and console.error lines. */
  async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const { log, error } = console;
    console.log = (...a: unknown[]) => void out.push(a.join(' '));
    console.error = (...a: unknown[]) => void err.push(a.join(' '));
    try {
      return { code: await checkpointCommand(argv), out, err };
    } finally {
      console.log = log;
      console.error = error;
    }
  }

  it('prints one line per variable with dtype, shape and small values', async function () {
    skipWithoutFixture(this, 'tf-checkpoints');
    const { code, out, err } = await run(['inspect', path.join(FIXTURES, 'half_plus_two_mkl', 'variables')]);
    assert.equal(code, 0);
    assert.deepEqual(err, []);
    assert.deepEqual(out, [
      'a                float32  []  0.5',
      'b                float32  []  2',
      'c                float32  []  3',
      'conv2d/bias      float32  [1]  [0]',
      'conv2d/kernel    float32  [1,1,1,1]  [-0.5223959684371948]',
      'conv2d_1/bias    float32  [1]  [0]',
      'conv2d_1/kernel  float32  [1,1,1,1]  [-1.0451120138168335]',
      'conv2d_2/bias    float32  [1]  [0]',
      'conv2d_2/kernel  float32  [1,1,1,1]  [1.577943205833435]',
    ]);
  });

  it('--json prints one object per line; large tensors without values', async function () {
    skipWithoutFixture(this, 'tf-checkpoints');
    const { code, out } = await run(['inspect', path.join(FIXTURES, 'half_plus_two_tf2_cpu', 'variables'), '--json']);
    assert.equal(code, 0);
    const records = out.map((l) => JSON.parse(l));
    assert.deepEqual(records.slice(1), [
      { name: 'a/.ATTRIBUTES/VARIABLE_VALUE', dtype: 'float32', shape: [], values: [0.5] },
      { name: 'b/.ATTRIBUTES/VARIABLE_VALUE', dtype: 'float32', shape: [], values: [2] },
      { name: 'c/.ATTRIBUTES/VARIABLE_VALUE', dtype: 'float32', shape: [], values: [3] },
    ]);
    assert.equal(records[0].name, '_CHECKPOINTABLE_OBJECT_GRAPH');
    assert.equal(Buffer.from(records[0].values[0], records[0].valuesEncoding ?? 'utf8').length, 613);

    const dir = tmpDir();
    try {
      writeCheckpoint(path.join(dir, 'm'), [
        { name: 'big', dtype: 'float32', shape: [17], data: new Float32Array(17) },
        { name: 'step', dtype: 'int64', shape: [], data: BigInt64Array.of(2n ** 62n) },
        { name: 'x', dtype: 'float32', shape: [2], data: Float32Array.of(NaN, -Infinity) },
      ]);
      const json = await run(['inspect', path.join(dir, 'm'), '--json']);
      assert.deepEqual(json.out.map((l) => JSON.parse(l)), [
        { name: 'big', dtype: 'float32', shape: [17] },
        { name: 'step', dtype: 'int64', shape: [], values: [String(2n ** 62n)] },
        { name: 'x', dtype: 'float32', shape: [2], values: ['NaN', '-Infinity'] },
      ]);
      const text = await run(['inspect', path.join(dir, 'm')]);
      assert.deepEqual(text.out, ['big   float32  [17]', 'step  int64    []  4611686018427387904', 'x     float32  [2]  [NaN, -Infinity]']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad usage exits 2 and a bad prefix exits 1, each as one line on stderr naming the problem', async () => {
    for (const [argv, problem] of [
      [['checkpoint'], /needs a subcommand: inspect/],
      [['checkpoint', 'list', 'x'], /Unknown subcommand 'sat checkpoint list'. Subcommands: inspect/],
      [['checkpoint', 'inspect'], /inspect needs a <prefix>/],
      [['checkpoint', 'inspect', 'x', 'y'], /unexpected argument 'y'/],
      [['checkpoint', 'inspect', 'x', '--jsn'], /Unknown option '--jsn'/],
    ] as const) {
      const r = await sat(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^sat checkpoint: error: [^\n]+$/);
      assert.match(r.err, problem);
    }
    const r = await sat('checkpoint', 'inspect', '/nonexistent/model.ckpt-1000');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^sat checkpoint: error: [^\n]+$/);
    assert.ok(r.err.includes('/nonexistent/model.ckpt-1000.index'), r.err);
  });
});
