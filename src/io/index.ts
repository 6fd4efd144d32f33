// The io room: VISA-style instrument I/O on native threads.
export { ResourceManager, type ResourceManagerOptions } from "./resourceManager.ts";
export { MessageInstrument, type InstrumentOptions, type SerialOptions, type Encoding } from "./messageInstrument.ts";
export { parseResourceName, type ResourceName } from "./resourceName.ts";
export { decodeBlock, encodeBlockHeader, type BlockDatatype, type BlockFormat, type BlockArray } from "./binaryBlock.ts";
export { listResources, type ListOptions } from "./listResources.ts";
export { toDeviceError, type IoErrorContext } from "./ioErrors.ts";
export { Acquisition, type AcquisitionOptions, type AcquisitionStats, type WireFormat } from "./acquisition.ts";
export { LabDaemonSerialBinding, LabDaemonSerialPort, listSerialPorts } from "./serialBinding.ts";
export * from "./sampleRing.ts";
export * from "./syntheticSource.ts";
