export * from './sniff';
export { BYTES_PER_INODE, MIN_VOLUME_BYTES, VolumeError } from './job-volume';
export * from './blob-store';
export * from './fs.blob-store';
export * from './s3.blob-store';
export * from './create-blob-store';
export * from './scratch';
export { describeResult, resultNameFor } from './describe-result';
export * from './part-buffers';
