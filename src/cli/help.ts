// What `labdaemon --help` and `labdaemon COMMAND --help` print.

export const MAIN_HELP = `labdaemon — lab instruments, experiments and their HTTP/SSE API in one executable

Usage:
  labdaemon serve [flags]                 serve a lab until SIGINT/SIGTERM
  labdaemon resources [flags]             list the instruments this PC can reach
  labdaemon query RESOURCE MESSAGE        send one SCPI message (a query when it ends with '?')
  labdaemon sim FILE                      serve simulated SCPI instruments from a definition file
  labdaemon launcher [flags]              start and stop the lab's server profiles from a web page
  labdaemon help [COMMAND]                this text, or a command's
  labdaemon --version                     the version

Run 'labdaemon COMMAND --help' for a command's flags.
Exit status: 0 success, 1 runtime failure (port in use, instrument error), 2 usage error, 3 configuration error.
`;

export const SERVE_HELP = `Usage: labdaemon serve [flags]

Serves a lab over HTTP (Swagger UI at /swagger) and SSE until SIGINT or SIGTERM, then stops the server
and the daemon within 2 s.

Flags:
  --host HOST        interface to bind (default 127.0.0.1; others need --token to be safe)
  --port PORT        TCP port (default 5000; 0 picks a free one)
  --config FILE      lab configuration (.ts, .json, .yaml)
  --profile NAME     the configuration to use when the file holds several (configs: {NAME: …})
  --token TOKEN      require 'Authorization: Bearer TOKEN' on every route but /health
                     (default: $LABDAEMON_TOKEN, then the config's token)
  --cors ORIGIN      allow this browser origin (repeatable)
  --log-level LEVEL  debug | info | warn | error | silent (default info: one line per request)
  --sim              serve the built-in simulated lab, whatever is configured
  --connect-timeout MS
                     bound on each configured device's connect at start-up (1–86400000, default 10000)
  -h, --help         this text

Configuration discovery, first found wins:
  --config FILE, $LABDAEMON_CONFIG, ./lab_servers.{ts,json,yaml,yml},
  ~/.labdaemon/lab_servers.{ts,json,yaml,yml}; none → the built-in simulated lab.
Flags override the configuration's host, port, token, cors and logLevel.

Configuration (YAML; JSON has the same shape):
  name: Optics bench
  port: 5000
  devices:
    laser1: { type: SimLaser, params: { wavelength: 1550 }, connect: true }
    dmm1:   { type: ScpiInstrument, params: { resource: "TCPIP0::10.0.0.5::5025::SOCKET" } }
  tasks: [SweepTask]          # built-in task types offered (default: all)
Several profiles in one file: { configs: { mock: {…}, real: {…} }, default: mock }
A .ts configuration 'export default's the same object and may add
  plugins: { devices: { MyDevice }, tasks: { MyTask } }  and  setup(daemon) { … }
with classes from files beside it that 'import { … } from "labdaemon"'.
Built-in device types: ScpiInstrument, SimLaser, SimPowerMeter, SimDaq. Task types: SweepTask.
`;

export const RESOURCES_HELP = `Usage: labdaemon resources [--visa-library LIB]

Lists the instruments this PC can reach, one VISA resource string per line: serial ports, GPIB boards'
instruments (linux-gpib) and whatever a VISA library reports. LAN instruments cannot be discovered
here; open them by address with 'labdaemon query'.

Flags:
  --visa-library LIB   a vendor VISA library (path or soname; default $LABDAEMON_VISA_LIBRARY); a library
                       named here or there must load, or the command fails (exit status 1)
  -h, --help           this text
`;

export const QUERY_HELP = `Usage: labdaemon query RESOURCE MESSAGE [flags]

Opens RESOURCE (e.g. TCPIP0::192.168.1.20::5025::SOCKET, TCPIP0::host::inst0::INSTR,
ASRL/dev/ttyUSB0::INSTR, GPIB0::12::INSTR), sends MESSAGE and, when MESSAGE ends with '?', prints the
answer byte for byte, without its read termination or trailing CR/LF, then a newline. A binary block
answer (#<n><length><data>) is read whole, terminations inside its data included.
Examples:
  labdaemon query TCPIP0::127.0.0.1::5025::SOCKET "*IDN?"
  labdaemon query TCPIP0::127.0.0.1::5026::SOCKET "*IDN?" --write-termination '\\r\\n' --read-termination '\\r\\n'

Flags:
  --timeout MS               per request (default 2000)
  --read-termination SEQ     what ends an answer (default '\\n'); 'none': the interface's END, or
                             whatever arrives first
  --write-termination SEQ    what is sent after MESSAGE (default '\\n'); 'none': nothing
                             SEQ is ASCII text with the escapes \\r \\n \\t \\\\ \\xHH
  --baud-rate N              serial resources
  --visa-library LIB         route the resource through a vendor VISA library (default
                             $LABDAEMON_VISA_LIBRARY); a library named here or there must load
  -h, --help                 this text

A query that times out is most often one whose terminations are not the instrument's: the message
then says which were used.
`;

export const SIM_HELP = `Usage: labdaemon sim FILE

Serves the simulated SCPI instruments of a definition file (YAML or JSON: devices with dialogues,
properties, binary blocks; resources on a TCP socket, VXI-11 or a serial pty) until SIGINT/SIGTERM.
Prints one 'RESOURCE<TAB>DEVICE' line per served resource, then 'ready'.

Flags:
  -h, --help   this text
`;

export const LAUNCHER_HELP = `Usage: labdaemon launcher [--config FILE] [--port 5100] [--no-open]

Serves a page on 127.0.0.1 that starts and stops the profiles of the lab configuration (each as its own
'labdaemon serve --profile NAME' process), shows their health and logs, and edits the configuration.
Prints the page's URL, carrying this launch's secret (token=), and opens it in the default browser.
Quitting (the page's Quit, SIGINT, SIGTERM) stops the servers it started, except those started with
"keep running". Servers left by a launcher that died are offered for adoption on the next start.

Flags:
  --config FILE   lab configuration (default: found as 'serve' finds it; none → the page offers a template)
  --port PORT     the page's port (default 5100)
  --no-open       print the URL only
  -h, --help      this text

Scripts use the same JSON API with 'Authorization: Bearer SECRET': GET /api/profiles,
POST /api/profiles/NAME/start|stop, GET /api/profiles/NAME/logs (SSE), GET|PUT /api/config.
Records of started servers: $XDG_RUNTIME_DIR/labdaemon, else ~/.labdaemon/run.
`;
