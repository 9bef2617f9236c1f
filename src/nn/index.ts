/** Backbones (`buildBackbone`, a registry keyed by `kind`), their layers and initialisation. */
export { buildBackbone, backboneKinds, BACKBONE_INPUT, BACKBONE_LOGITS, BACKBONE_METADATA_KEY } from './registry.ts';
export type { Backbone, BackboneSpec, ResNetSpec, PlainCnnSpec, CommonSpec, ParamInfo, ParamRole, Resolved } from './types.ts';
export { Layers, type ConvLayerOptions } from './layers.ts';
export { initWeight, initBias, bnInit, fans, type WeightInit } from './init.ts';
