export * from './definitions';
export * from './metrics';
export * from './http';
