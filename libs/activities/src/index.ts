export * from './activities';
export * from './maintenance.activities';
export * from './webhook.activities';
export * from './webhook-http';
export * from './webhook-signature';
