export * from './engine-fleet';
export * from './slot-pool';
