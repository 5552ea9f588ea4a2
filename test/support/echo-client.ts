/** Moved to tools/echo-client.ts (bench/ uses it too); kept so test files importing it from here still build. */
export * from '../../tools/echo-client';
