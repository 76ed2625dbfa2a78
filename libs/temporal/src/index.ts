export * from './search-attributes';
export * from './workflow-versions';
