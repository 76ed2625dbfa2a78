export * from './job-followers.repository';
export * from './job-history.repository';
export * from './job-insert';
export * from './job-outbox.repository';
export * from './job-retention.repository';
export * from './job.repository';
export * from './job-tags.repository';
