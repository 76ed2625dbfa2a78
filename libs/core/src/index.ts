export * from './job';
export * from './contract';
export * from './errors';
export * from './config-error';
export * from './job-query';
export * from './nodes';
export * from './bounded';
export * from './submission';
