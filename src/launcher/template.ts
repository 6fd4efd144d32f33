// The configuration the launcher offers to create when none is found: two profiles that run on any PC
// (simulated instruments), written to show the shape a real lab's file takes.

export const TEMPLATE_YAML = `# labdaemon lab configuration: one entry under 'configs' per server setup.
# Start them from 'labdaemon launcher', or one at a time with 'labdaemon serve --profile NAME'.
configs:
  optics-sim:
    description: Simulated laser and power meter (no hardware needed)
    port: 5001
    devices:
      laser1: { type: SimLaser, params: { wavelength: 1550, power: 1 }, connect: true }
      pm1: { type: SimPowerMeter, params: { source: laser1 }, connect: true }
  daq-sim:
    description: Simulated DAQ streaming a 50 Hz sine
    port: 5002
    devices:
      daq1: { type: SimDaq, params: { sampleRate: 10000, batchSize: 500, frequency: 50 }, connect: true }
  # A real instrument on the LAN (connect: true makes the server connect at start-up):
  # bench:
  #   port: 5003
  #   token: change-me
  #   devices:
  #     dmm1: { type: ScpiInstrument, params: { resource: "TCPIP0::192.168.1.20::5025::SOCKET" }, connect: true }
default: optics-sim
`;

/** The same configuration as JSON, for a .json file (comments cannot come along). */
export const TEMPLATE_JSON = `${JSON.stringify(
  {
    configs: {
      "optics-sim": {
        description: "Simulated laser and power meter (no hardware needed)",
        port: 5001,
        devices: {
          laser1: { type: "SimLaser", params: { wavelength: 1550, power: 1 }, connect: true },
          pm1: { type: "SimPowerMeter", params: { source: "laser1" }, connect: true },
        },
      },
      "daq-sim": {
        description: "Simulated DAQ streaming a 50 Hz sine",
        port: 5002,
        devices: {
          daq1: { type: "SimDaq", params: { sampleRate: 10000, batchSize: 500, frequency: 50 }, connect: true },
        },
      },
    },
    default: "optics-sim",
  },
  null,
  2,
)}\n`;
