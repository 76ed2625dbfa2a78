/** Injection tokens for the plain (non-Nest) objects the API shares with the worker. */
export const CONFIG = Symbol('MenagerieConfig');
export const JOB_REPOSITORY = Symbol('JobRepository');
export const NODE_REPOSITORY = Symbol('NodeRepository');
/** Where uploads, results and logs are kept (BlobStore): the API's only storage. */
export const BLOB_STORE = Symbol('BlobStore');
export const DATA_SOURCE = Symbol('DataSource');
/** Hears jobs reach a final status (JobEndings), for requests blocked on ?wait. */
export const JOB_ENDINGS = Symbol('JobEndings');
/** The webhook tables (WebhookRepository): events, callbacks, deliveries and their attempts. */
export const WEBHOOK_REPOSITORY = Symbol('WebhookRepository');
