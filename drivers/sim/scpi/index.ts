export { serveSimulators, type RunningSimulators, type ServedResource } from "./serve.ts";
export { SimulatedInstrument, formatValue, encodeValues, type SimReply } from "./instrument.ts";
export { SocketSimServer } from "./socketServer.ts";
export { loadDefinition, validateDefinition, SimDefinitionError, type SimDefinition, type DeviceDef, type ResourceDef } from "./definition.ts";
