export * from './config';
export * from './env';
export * from './settings.schema';
export * from './engines-watcher';
