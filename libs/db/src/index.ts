import 'reflect-metadata';
export * from './data-source';
export * from './job.entity';
export * from './job-endings';
export * from './job.repository';
export * from './node.entity';
export * from './node.repository';
export * from './submission.entity';
export * from './submission.repository';
