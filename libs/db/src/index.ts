import 'reflect-metadata';
export * from './data-source';
export * from './job.entity';
export * from './job.repository';
