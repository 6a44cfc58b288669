/**
 * Messages between the extension host and a webview, declared as values (as GitLens' IpcCommand /
 * IpcNotification): each message type is an object with its method name and a guard of its params,
 * so both sides send with `Type.create(params)` and receive with `Type.is(message)`; nothing that
 * comes through postMessage is trusted before a guard has checked its shape.
 *
 * Direction: an IpcNotification goes host -> webview; an IpcCommand goes webview -> host.
 */
import { isRecord, isString, type Guard } from './guards';

export interface IpcMessage<Params = unknown> {
  /** Unique per sender, for logs. */
  id: string;
  method: string;
  params: Params;
}

export function isIpcMessage(x: unknown): x is IpcMessage {
  return isRecord(x) && isString(x.id) && isString(x.method) && 'params' in x;
}

let counter = 0;

export abstract class IpcMessageType<Params> {
  abstract readonly direction: 'host->webview' | 'webview->host';

  constructor(
    readonly method: string,
    readonly isParams: Guard<Params>,
  ) {}

  /** True when `msg` is this message type with well-formed params. */
  is(msg: unknown): msg is IpcMessage<Params> {
    return isIpcMessage(msg) && msg.method === this.method && this.isParams(msg.params);
  }

  /** A message of this type; throws when the params do not pass the guard (a bug in the sender). */
  create(params: Params, id = `${this.method}#${++counter}`): IpcMessage<Params> {
    if (!this.isParams(params)) throw new TypeError(`malformed params for ${this.method}: ${safeJson(params)}`);
    return { id, method: this.method, params };
  }
}

/** host -> webview */
export class IpcNotification<Params> extends IpcMessageType<Params> {
  readonly direction = 'host->webview' as const;
}

/** webview -> host */
export class IpcCommand<Params> extends IpcMessageType<Params> {
  readonly direction = 'webview->host' as const;
}

/**
 * Why a message was not accepted by any of `types`: unknown method, or known method with params
 * that fail its guard. Undefined when one of them accepts it.
 */
export function rejection(msg: unknown, types: readonly IpcMessageType<unknown>[]): string | undefined {
  if (!isIpcMessage(msg)) return `not an IPC message: ${safeJson(msg)}`;
  const type = types.find((t) => t.method === msg.method);
  if (!type) return `unknown method ${JSON.stringify(msg.method)}`;
  return type.isParams(msg.params) ? undefined : `malformed params for ${msg.method}: ${safeJson(msg.params)}`;
}

function safeJson(x: unknown): string {
  try {
    const s = JSON.stringify(x);
    return s === undefined ? String(x) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(x);
  }
}
