import { take, type ImageDataset } from './dataset';

/** The first `limit` examples (all when undefined); a limit must be a positive integer. */
export function limitTo(ds: ImageDataset, limit: number | undefined): ImageDataset {
  if (limit === undefined) return ds;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`${ds.name}: an image limit must be a positive integer, got ${limit}`);
  return take(ds, limit);
}
