/** Typed host <-> webview messages: shared by the extension host and the webview bundle (no vscode, no node). */
export * from './guards';
export * from './ipc';
export * from './layers';
export * from './snapshot';
