export * from './engine-fleet';
