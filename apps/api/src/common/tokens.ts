/** Injection tokens for the plain (non-Nest) objects the API shares with the worker. */
export const CONFIG = Symbol('MenagerieConfig');
export const JOB_REPOSITORY = Symbol('JobRepository');
export const JOB_STORE = Symbol('JobStore');
export const CONTAINER_RUNTIME = Symbol('ContainerRuntime');
export const DATA_SOURCE = Symbol('DataSource');
