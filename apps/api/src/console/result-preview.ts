/**
 * The preview of a job's result the console shows (GET /console/api/jobs/<id>/preview),
 * one file per part under preview/: the choice by type (choose.ts), its limits,
 * JSON, text, hex, tar and zip. This is its entry point for the rest of the API.
 */
export { previewFile } from './preview/choose';
export { hexDump } from './preview/hex';
export { prettyJson } from './preview/json';
export { PREVIEW_LIMITS, type PreviewLimits } from './preview/limits';
export type { OpenFile, PositionalReader } from './preview/positional-read';
export type { ArchiveEntry, Preview } from './preview/preview.types';
export { listTar } from './preview/tar';
export { decodeText } from './preview/text';
export { listZip } from './preview/zip';
