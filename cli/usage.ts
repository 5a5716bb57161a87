export const USAGE = `Usage: nodemeter [command] [flags]

Commands:
  run (default)        start the agent and serve its endpoints
  validate             load and check the config, build the pipelines, start nothing
  collect --once       run one collection of every pipeline, print the Prometheus exposition

Flags:
  --config FILE        config file (default: the embedded default config)
  --listen-host HOST   address of the agent's HTTP server
  --listen-port PORT   port of the agent's HTTP server (0: chosen by the OS)
  --log-level LEVEL    trace, debug, info, warn, error or fatal
  --log-human          human-readable log lines instead of JSON lines
  --node-name NAME     Kubernetes node name (default: $NODE_NAME, else the host name)
  --web-config-file F  TLS, basic auth and bearer tokens for the HTTP server (exporter-toolkit format)
  --help, --version

Exit codes: 0 ok, 1 runtime failure, 2 invalid config or flags.
`;
