/** An archive's entry as the preview lists it. */
export interface ArchiveEntry {
  name: string;
  /** Uncompressed size in bytes; null when the archive doesn't say. */
  size: number | null;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
}

/** What GET /console/api/jobs/<id>/preview answers: one kind of preview per kind of result. */
export type Preview =
  | { kind: 'none'; reason: string }
  | {
      kind: 'json';
      size: number;
      text: string;
      /** Set when the pretty-printed text is cut; `note` says why, and also when deep nesting is not indented further. */
      truncated: boolean;
      note: string | null;
    }
  | { kind: 'text'; size: number; text: string; truncated: boolean }
  | {
      kind: 'archive';
      size: number;
      format: 'tar.gz' | 'tar' | 'zip';
      entries: ArchiveEntry[];
      /** Set when not every entry is listed; `note` says why. */
      truncated: boolean;
      note: string | null;
    }
  | { kind: 'binary'; size: number; bytes: number; hex: string; note: string | null };

/** An archive's listing, as far as the limits let it be read. */
export interface Listing {
  entries: ArchiveEntry[];
  truncated: boolean;
  note: string | null;
}
