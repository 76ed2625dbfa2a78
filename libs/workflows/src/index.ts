export * from './engine-job.workflow';
export * from './retention.workflow';
export * from './webhook.workflow';
export * from './data-bundle.workflow';
