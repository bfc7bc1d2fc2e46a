import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputFileError } from '../../lib/data/errors.ts';
import { outputTarget, parseS3Location, resolveRunInputs } from '../../lib/hosts/embedded/runLocations.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'pseudolabel-run-locations-'));
  roots.push(root);
  return root;
}

describe('parseS3Location', () => {
  it.each([
    ['s3://bucket', { bucket: 'bucket', path: '' }],
    ['s3://bucket/', { bucket: 'bucket', path: '' }],
    ['s3://bucket/a/b.csv', { bucket: 'bucket', path: 'a/b.csv' }],
    ['s3://bucket/prefix/', { bucket: 'bucket', path: 'prefix/' }],
    ['data/x.csv', undefined],
  ])('%s', (location, expected) => {
    // Act
    const parsed = parseS3Location(location);
    // Assess
    expect(parsed).toEqual(expected);
  });

  it('refuses an s3 location without a bucket', () => {
    // Act
    const parse = () => parseS3Location('s3:///key');
    // Assess
    expect(parse).toThrow('an s3 location needs a bucket: s3:///key');
  });
});

describe('resolveRunInputs on local paths', () => {
  it('gives a directory its data files with keys relative to it, and a file its directory as root', async () => {
    // Prepare
    const root = await tempRoot();
    await writeFile(path.join(root, 'b.csv'), 'id,label,x\n1,a,0\n');
    await writeFile(path.join(root, 'a.jsonl'), '{"x":1}\n');
    await writeFile(path.join(root, 'pseudolabel.json'), '{}');
    await writeFile(path.join(root, '.hidden.csv'), 'x\n1\n');
    await mkdir(path.join(root, 'nested'));
    await writeFile(path.join(root, 'nested', 'c.csv'), 'x\n1\n');
    // Act
    const dir = await resolveRunInputs(root);
    const file = await resolveRunInputs(path.join(root, 'b.csv'));
    // Assess
    expect(dir.root).toBe(root);
    expect(dir.inputs.map((input) => input.key)).toEqual(['a.jsonl', 'b.csv']);
    // A local file's ETag is weak: its modification time and size (17 = 0x11), not a hash of its content.
    expect(file).toEqual({
      root,
      inputs: [{ key: 'b.csv', size: 17, etag: expect.stringMatching(/^W\/"[0-9a-f]+-11"$/) }],
    });
  });

  it('names a missing file in an InputFileError', async () => {
    // Prepare
    const missing = path.join(await tempRoot(), 'missing.csv');
    // Act
    const resolving = resolveRunInputs(missing);
    // Assess
    await expect(resolving).rejects.toBeInstanceOf(InputFileError);
    await expect(resolving).rejects.toThrow(missing);
  });
});

describe('outputTarget on a local directory', () => {
  it('creates the directory on the first write and reads the files back', async () => {
    // Prepare
    const out = path.join(await tempRoot(), 'out', 'deeper');
    const target = outputTarget(out);
    // Act
    await target.prepare(path.join(out, '..', 'data.csv'));
    await target.write('labels.csv', new TextEncoder().encode('id,label\n'));
    const back = new TextDecoder().decode(await target.read('labels.csv'));
    // Assess
    expect(back).toBe('id,label\n');
  });
});

describe('outputTarget: --out is checked before any work, and written atomically', () => {
  it('refuses a file, the input directory, and a path under a file, naming the location and the reason', async () => {
    // Prepare
    const root = await tempRoot();
    const file = path.join(root, 'labels-out.csv');
    await writeFile(file, 'x');
    // Act: thunks, each called where it is awaited, so no rejection waits unhandled behind another
    const asFile = () => outputTarget(file).prepare(path.join(root, 'data.csv'));
    const asInput = () => outputTarget(root).prepare(root);
    const underFile = () => outputTarget(path.join(file, 'sub')).prepare(path.join(root, 'data.csv'));
    // Assess
    await expect(asFile()).rejects.toThrow(`cannot write output to ${file}: it is a file, not a directory`);
    await expect(asInput()).rejects.toThrow(`cannot write output to ${root}: it is the input; give another directory`);
    await expect(underFile()).rejects.toThrow(/cannot write output to .*labels-out\.csv\/sub: .*ENOTDIR/);
  });

  it('removes the output files of an earlier run and leaves other files alone', async () => {
    // Prepare
    const out = path.join(await tempRoot(), 'out');
    await mkdir(out);
    for (const name of ['labels.csv', 'report.html', 'rejected.csv', 'notes.txt'])
      await writeFile(path.join(out, name), 'old');
    // Act
    await outputTarget(out).prepare(path.join(out, '..', 'data.csv'));
    // Assess
    expect(await readdir(out)).toEqual(['notes.txt']);
  });

  it('a write that fails leaves neither a cut file nor its temporary, and names the path and the OS error', async () => {
    // Prepare: a directory where the file should go makes the rename fail, after the temporary was written.
    const out = path.join(await tempRoot(), 'out');
    await mkdir(path.join(out, 'labels.csv', 'blocker'), { recursive: true });
    // Act
    const writing = outputTarget(out).write('labels.csv', new TextEncoder().encode('id,label\n'));
    // Assess
    await expect(writing).rejects.toThrow(
      new RegExp(`cannot write output to ${out}/labels.csv: E(ISDIR|NOTEMPTY|EXIST)`),
    );
    expect(await readdir(out)).toEqual(['labels.csv']);
    expect(await readdir(path.join(out, 'labels.csv'))).toEqual(['blocker']);
  });
});
