/** The experiment spec: one table of settings, one parser, one way to resolve a run. */
export * from './fields';
export * from './parse';
export * from './requests';
export * from './flags';
