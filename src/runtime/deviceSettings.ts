/** What a user may ask for; `auto` tries the accelerators this platform ships, then CPU. (No onnxruntime import: the extension host reads this too.) */
export const DEVICE_SETTINGS = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu', 'auto'] as const;
export type DeviceSetting = (typeof DEVICE_SETTINGS)[number];
