export * from './activities';
export * from './maintenance.activities';
