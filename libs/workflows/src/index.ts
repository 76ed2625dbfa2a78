export * from './engine-job.workflow';
