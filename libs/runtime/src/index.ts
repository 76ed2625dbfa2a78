export * from './capped-log';
export * from './container.runtime';
export * from './docker.runtime';
export * from './image-ref';
export { registryProblem } from './docker.errors';
