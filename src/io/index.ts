// The io room: VISA-style instrument I/O — LAN transports on the event loop, the others on native threads.
export { ResourceManager, type ResourceManagerOptions, type NetIo } from "./resourceManager.ts";
export {
  MessageInstrument,
  type InstrumentOptions,
  type SerialOptions,
  type Encoding,
  type RemoteLocal,
} from "./messageInstrument.ts";
export { listUsbtmcDevices, type UsbtmcDevice, type UsbtmcRoots } from "./usbtmcDevices.ts";
export { parseResourceName, type ResourceName } from "./resourceName.ts";
export {
  blockArray,
  MAX_BLOCK_ARRAY_BYTES,
  decodeBlock,
  encodeBlockHeader,
  type BlockDatatype,
  type BlockFormat,
  type BlockArray,
} from "./binaryBlock.ts";
export { listResources, type ListOptions } from "./listResources.ts";
export { toDeviceError, type IoErrorContext } from "./ioErrors.ts";
export { Acquisition, type AcquisitionOptions, type AcquisitionStats, type WireFormat } from "./acquisition.ts";
export { LabDaemonSerialBinding, LabDaemonSerialPort, listSerialPorts } from "./serialBinding.ts";
export * from "./sampleRing.ts";
