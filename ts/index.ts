// The public types use Buffer and node:stream: with TypeScript 6 a project no longer loads
// @types/node unless something asks for it.
/// <reference types="node" preserve="true" />
/**
 * indi-node: write INDI instrument drivers in TypeScript (indipydriver's API, camelCase) on a
 * Rust core that parses and writes the INDI XML stream.
 * @packageDocumentation
 */
export { Device } from './device.js';
export { IPyDriver } from './driver.js';
export {
  DefBLOBVector,
  DefLightVector,
  DefNumberVector,
  DefSwitchVector,
  DefTextVector,
  DelProperty,
  EventError,
  GetProperties,
  Message,
  NewBLOBVector,
  NewNumberVector,
  NewSwitchVector,
  NewTextVector,
  SetBLOBVector,
  SetLightVector,
  SetNumberVector,
  SetSwitchVector,
  SetTextVector,
  type NumberMemberInfo,
  type RxEvent,
  type SnoopEvent,
} from './events.js';
export {
  Button,
  GPIODevice,
  gpioBackend,
  LED,
  PWMLED,
  simulatedPins,
  type ButtonCallback,
  type ButtonOptions,
  type GpioBackendName,
  type LEDOptions,
  type GpioPull,
  type PWMLEDOptions,
  type SimulatedPins,
  type SimulatedPinState,
} from './gpio.js';
export { describeError, logger, setLogger, type Logger } from './log.js';
export { isMainModule, runDriver, type RunDriverOptions } from './rundriver.js';
export { IPyServer, type IPyServerOptions, type ExdriverOptions, type RemoteOptions } from './server.js';
export type { WebOptions } from './web.js';
export type { WebStarted } from './server.js';
export {
  BLOBMember,
  LightMember,
  NumberMember,
  PropertyMember,
  SwitchMember,
  TextMember,
  type BLOBMemberOptions,
  type BLOBValue,
  type MemberOptions,
  type NumberMemberOptions,
} from './members.js';
export {
  formatNumber,
  getfloat,
  parseTimestamp,
  timestampText,
  type NumberLike,
  type Perm,
  type PropertyState,
  type SwitchRule,
  type SwitchValue,
} from './values.js';
export {
  BLOBVector,
  LightVector,
  NumberVector,
  PropertyVector,
  SwitchVector,
  TextVector,
  type DefOptions,
  type DelOptions,
  type SetMembersOptions,
  type SetOptions,
  type Vector,
  type VectorOptions,
  type VectorType,
  type WritableVectorOptions,
} from './vectors.js';
export { IndiClient, type BLOBMode, type ClientMessage, type IndiClientEvents, type IndiClientOptions, type SendValues, type WaitOptions } from './client.js';
export {
  ClientDevice,
  ClientDevices,
  ClientVector,
  type ClientBLOBMember,
  type ClientMember,
  type ClientMemberOf,
  type ClientNumberMember,
  type ClientVectorKind,
  type VectorSnapshot,
} from './client-model.js';
export type { BLOBUpload } from './client-send.js';
