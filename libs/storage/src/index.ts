export * from './job.store';
export * from './sniff';
