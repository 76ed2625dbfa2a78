export * from './containment';
export * from './engine';
export * from './engine.schema';
export * from './policy';
export * from './runflags';
export * from './cache-key';
export * from './report.schema';
