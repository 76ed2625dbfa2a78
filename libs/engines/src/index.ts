export * from './engine';
export * from './engine.schema';
export * from './runflags';
