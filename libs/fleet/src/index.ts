export * from './engine-fleet';
export * from './slot-pool';
export * from './node-reporter';
