export { serveSimulators, type RunningSimulators, type ServedResource } from "./serve.ts";
export { SimulatedInstrument, formatValue, encodeValues, type SimReply } from "./instrument.ts";
export { SocketSimServer } from "./socketServer.ts";
export {
  loadDefinition,
  parseDefinition,
  validateDefinition,
  SimDefinitionError,
  type SimDefinition,
  type DeviceDef,
  type ResourceDef,
} from "./definition.ts";
export { serveVxi11, type Vxi11Sim } from "./vxi11Server.ts";
export { servePty, type PtySim } from "./serialPty.ts";
