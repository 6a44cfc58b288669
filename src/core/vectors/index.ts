/** Steering-vector artifacts: safetensors codec, the `.ivec.safetensors` artifact, GGUF control-vector export. */
export * from './safetensors';
export * from './artifact';
export * from './gguf';
