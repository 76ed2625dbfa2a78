/**
 * What the console shows of a job's result, computed from a bounded read of
 * the stored file: a preview never reads a whole large result, never inflates
 * a compressed one without limit, and never lists more than a bounded number
 * of archive entries. Its output is bounded too, whatever the input: JSON
 * re-indented is cut at `jsonChars` and indents at most `jsonIndentDepth`
 * levels (nesting would otherwise grow it quadratically), and each archive
 * entry's name is cut at `entryNameChars`. Whatever is cut says so in `note`.
 */
export const PREVIEW_LIMITS = {
  /** Text and JSON results: bytes read and shown. */
  textBytes: 2 * 1024 * 1024,
  /** JSON results: characters of the pretty-printed text shown. */
  jsonChars: 4 * 1024 * 1024,
  /** JSON results: nesting levels indented; deeper levels stay at this indent. */
  jsonIndentDepth: 32,
  /** Binary results: the bytes of the hex preview. */
  hexBytes: 512,
  /** Archives: entries listed. */
  archiveEntries: 1000,
  /** Archives: characters of each entry's name shown. */
  entryNameChars: 1024,
  /** Archives: bytes of the stored file read while listing. */
  archiveReadBytes: 16 * 1024 * 1024,
  /** Compressed archives: bytes inflated while listing (bounds a gzip bomb). */
  archiveInflateBytes: 128 * 1024 * 1024,
  /** Zip: bytes of the central directory read. */
  zipDirectoryBytes: 4 * 1024 * 1024,
} as const;

export type PreviewLimits = { [K in keyof typeof PREVIEW_LIMITS]: number };
