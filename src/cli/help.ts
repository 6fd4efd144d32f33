// What `labdaemon --help` and `labdaemon COMMAND --help` print.

export const MAIN_HELP = `labdaemon — lab instruments, experiments and their HTTP/SSE API in one executable

Usage:
  labdaemon serve [flags]                 serve a lab until SIGINT/SIGTERM
  labdaemon resources [flags]             list the instruments this PC can reach
  labdaemon query RESOURCE MESSAGE        send one SCPI message (a query when it ends with '?')
  labdaemon profiles [--config FILE]      list the configuration's profiles (what --profile chooses)
  labdaemon config --schema               print the JSON Schema of a lab configuration file (for editors)
  labdaemon sim FILE                      serve simulated SCPI instruments from a definition file
  labdaemon launcher [flags]              start and stop the lab's server profiles from a web page
  labdaemon service install|uninstall     run the server as a systemd service
  labdaemon lab --mqtt URL                every server and device an MQTT broker has seen, live
  labdaemon sim --example                 print an example simulator definition
  labdaemon help [COMMAND]                this text, or a command's
  labdaemon --version                     the version

Run 'labdaemon COMMAND --help' for a command's flags.
Exit status: 0 success, 1 runtime failure (port in use, instrument error), 2 usage error, 3 configuration error.
`;

export const SERVE_HELP = `Usage: labdaemon serve [flags]

Serves a lab over HTTP (Swagger UI at /swagger) and SSE until SIGINT or SIGTERM, then stops the server
and the daemon within 2 s.

Flags:
  --host HOST        interface to bind (default 127.0.0.1); any other address needs a token,
                     or --insecure
  --port PORT        TCP port (default 5000; 0 picks a free one)
  --config FILE      lab configuration (.ts, .json, .yaml)
  --profile NAME     the configuration to use when the file holds several (configs: {NAME: …});
                     'labdaemon profiles' lists them
  --token TOKEN      require 'Authorization: Bearer TOKEN' on every route but /health
                     (default: $LABDAEMON_TOKEN, then the config's token)
  --insecure         serve a non-loopback address without a token (anyone who reaches the port can
                     drive the instruments; a warning is printed)
  --cors ORIGIN      allow this browser origin (repeatable)
  --log-level LEVEL  debug | info | warn | error | silent (default info: one line per request, task
                     and device events; failures and device errors at warn; debug also prints the
                     stack of a device or setup() that fails at start-up)
  --log-format FMT   text (default: 'ISO-TIME LEVEL message') | json (one object a line)
  --log-file PATH    append the log to PATH instead of stdout/stderr, rotated by size:
  --log-max-bytes N    PATH becomes PATH.1 before it would pass N bytes (default 10485760, ≥ 4096)
  --log-keep N         rotated files kept, PATH.1 … PATH.N (default 3, 0–100)
  --sim              serve the built-in simulated lab, whatever is configured
  --connect-timeout MS
                     bound on each configured device's connect at start-up (1–86400000, default 10000)
  --mqtt URL         publish state, tasks, errors and stream data to an MQTT broker (mqtt://host:1883,
                     mqtts://…) under labdaemon/NAME/…; a broker that is away is retried in the background
  --mqtt-name NAME   this server's name in topics (default HOST-PORT)
  --mqtt-username U  broker login; the password comes from $LABDAEMON_MQTT_PASSWORD
  --mqtt-ca FILE, --mqtt-cert FILE, --mqtt-key FILE
                     TLS: the broker's CA, and this client's certificate and key (PEM)
  --mqtt-commands    accept commands on labdaemon/NAME/cmd (MQTT 5 request/response; off by default)
  --mqtt-stream-rate HZ
                     most stream-data messages per device per second (default 10; 0: none)
  --data-dir DIR     task history, errors and recordings (HDF5) kept across restarts (default:
                     ./labdaemon-data beside the configuration file; ~/.labdaemon/data for the
                     built-in simulated lab, %LOCALAPPDATA%\\labdaemon\\data on Windows; the config's dataDir)
  --windows-service NAME
                     run as the Windows service NAME (what 'labdaemon service install' registers); the
                     log and all output go to --log-file (default %LOCALAPPDATA%\\labdaemon\\logs\\NAME.log)
  -h, --help         this text

Configuration discovery, first found wins:
  --config FILE, $LABDAEMON_CONFIG, ./lab_servers.{ts,json,yaml,yml},
  ~/.labdaemon/lab_servers.{ts,json,yaml,yml} (%LOCALAPPDATA%\\labdaemon\\… on Windows);
  none → the built-in simulated lab.
Flags override the configuration's host, port, token, cors, logLevel and dataDir.

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

export const PROFILES_HELP = `Usage: labdaemon profiles [--config FILE]

Lists the profiles of the configuration 'serve' would use (found as 'serve' finds it): name,
description, port and devices of each, and which is the default. Nothing is started.

Flags:
  --config FILE   this configuration instead of the discovered one
  -h, --help      this text
`;

export const CONFIG_HELP = `Usage: labdaemon config --schema

Prints the JSON Schema (draft-07) of a JSON or YAML lab configuration file: one profile, or several
under 'configs'. Editors use it for key completion and checks as you type, e.g. a first line
'# yaml-language-server: $schema=lab_servers.schema.json' in YAML (VS Code with the YAML extension),
or "json.schemas" in VS Code's settings. 'labdaemon launcher' checks its editor with the same schema.

Flags:
  --schema        print the schema
  -h, --help      this text
`;

export const SIM_HELP = `Usage: labdaemon sim FILE
       labdaemon sim --example > lab.yaml

Serves the simulated SCPI instruments of a definition file (YAML or JSON) until SIGINT/SIGTERM: on TCP
sockets, VXI-11 (needs rpcbind), HiSLIP or a serial pty (needs socat). Prints one 'RESOURCE<TAB>DEVICE'
line per served resource, then 'ready'. A mistake in the file is reported at its file:line:column (exit
status 3).

Flags:
  --example    print a complete example definition (every feature below) and exit
  -h, --help   this text

Definition format (pyvisa-sim's, in short):
  devices:                           one entry per simulated instrument, by name
    NAME:
      eom: { q: "\\n", r: "\\n" }       what ends a query; what is appended to each answer (default \\n)
      error: "ERROR"                 the answer to a query nothing matches (also queued for SYST:ERR?)
      dialogues:                     fixed answers, matched case-insensitively
        - { q: "*IDN?", r: "ACME,Model,1,1.0" }
        - { q: "*RST" }              no r: a command, not answered
      properties:                    values a client reads and sets
        PROP:
          default: 1.5               a number or a string
          getter: { q: "VOLT?", r: "{:.3f}" }     r formats: {} {:d} {:.Nf} {:.Ne} {:.NE} {:g}
          setter: { q: "VOLT {}", r: "OK", e: "ERR" }  {} takes the value; r answers a good one, e a refused one
          specs: { min: 0, max: 10, type: float }      type float | int | str; or valid: [AUTO, 10, 100]
      blocks:                        IEEE 488.2 definite-length binary answers (#<n><length><data>)
        - { q: "CURV?", datatype: float32, bigEndian: false, length: 1000, values: sine }
                                     datatype int8|uint8|int16|uint16|int32|uint32|float32|float64;
                                     length: a count or a property's name; values: sine | ramp |
                                     counter (continues across answers) | a list of numbers
      silent: ["HANG?"]              read, never answered (to test client timeouts)
      drop: ["DROP?"]                half an answer, then the connection is closed
      operations:                    commands that keep the instrument busy for ms (0 to 3600000)
        - { q: "INIT", ms: 200 }     *OPC sets the operation-complete bit (1 in *ESR?) once every
                                     operation started before it is done; after *ESE 1 and *SRE 32 that
                                     is a service request too (SRQ over VXI-11 and HiSLIP; poll *STB? on
                                     a socket or serial link), once per new event: read *ESR? or send
                                     *CLS before waiting for the next
  resources:                         how clients reach the devices (a device may have several)
    - { device: NAME, socket: { port: 5025, host: 127.0.0.1 } }   TCPIP0::127.0.0.1::5025::SOCKET
    - { device: NAME, vxi11: { name: inst0 } }                    TCPIP0::127.0.0.1::inst0::INSTR
    - { device: NAME, hislip: { name: hislip0, port: 4880 } }     TCPIP0::127.0.0.1::hislip0,4880::INSTR
                                                                  (or ::hislip0::INSTR: 4880 is HiSLIP's
                                                                  port; name hislip0, hislip1, …; host as
                                                                  for socket)
    - { device: NAME, serial: { link: /tmp/sim-dmm } }            ASRL/tmp/sim-dmm::INSTR
  Left out: a port is 0 (any free one), a host 127.0.0.1, a name inst0 or hislip0, a link a new /tmp path.
  Every device keeps IEEE 488.2 status registers, zero at start: *ESR? *ESE[?] *SRE[?] *STB? *CLS and *OPC
  are built in (*OPC? is not: a dialogue answers it, at once); a dialogue with the same q comes first.
  A message the definition cannot answer gets the 'error' string (or nothing): the simulator never stops.

Limits: a UTF-8 file of at most 16 MiB, 100,000 dialogues a device, 16 {} in a setter, 64 MiB of data in a
block, 100 digits in a format; a serial link must not exist yet (unless it is a symbolic link) nor contain
',' '!' ':' or white space.
`;

export const SERVICE_HELP = `Usage: labdaemon service install [--config FILE] [--profile NAME] [--sim] [--user] [--print]
       labdaemon service uninstall [--name NAME] [--user]

Writes (or removes) a systemd unit that runs 'labdaemon serve' with this configuration at boot, restarts
it when it fails, and knows when it is ready: the unit is Type=notify, so 'systemctl start' returns once
the server listens, and a server whose event loop stops for 30 s (WatchdogSec) is restarted.
The configuration is found as serve finds it and checked now as serve checks it at start (its devices
and task types; a host other than loopback needs the configuration's token: the unit passes no --token or
--insecure, and this shell's $LABDAEMON_TOKEN does not reach the service); the unit names it by absolute path.

Flags:
  --config FILE      lab configuration (default: discovered as serve does)
  --profile NAME     the profile to serve; the unit is then labdaemon-NAME
  --sim              serve the built-in simulated lab
  --user             a unit of your own (~/.config/systemd/user; 'systemctl --user'), no root needed;
                     without it: /etc/systemd/system (run with sudo; the service runs as you, not root)
  --name NAME        unit name (default labdaemon, or labdaemon-PROFILE)
  --unit-dir DIR     write the unit there instead
  --print            print the unit, write nothing

After install: systemctl [--user] daemon-reload && systemctl [--user] enable --now NAME

On Windows, install registers a service with the Service Control Manager through sc.exe (start=auto,
restarted after a failure) that runs 'labdaemon.exe serve … --windows-service NAME --log-file
%LOCALAPPDATA%\\labdaemon\\logs\\NAME.log' (your %LOCALAPPDATA%, written as a full path); it needs an
administrator's prompt, and without one prints the sc.exe commands to run there. --print only prints
them. uninstall stops and deletes the service. --user and --unit-dir do not apply.
`;

export const LAB_HELP = `Usage: labdaemon lab --mqtt URL [--once] [--wait MS] [--username U]

Shows every labdaemon server that publishes to the broker (serve --mqtt) and each of its devices:
online or not, connected, streaming, owned by which task. The table is redrawn as things change, until
Ctrl-C. With --once it waits for the broker's retained state (--wait, default 1000 ms), prints the
table once and exits. The password comes from $LABDAEMON_MQTT_PASSWORD.
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
