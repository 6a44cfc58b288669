// The layer-effects panel app arrives with the extension issue.
export {};
