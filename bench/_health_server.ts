// The floor for bench/startup.ts: a compiled bun executable that answers /health and nothing else.
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
Bun.serve({ hostname: "127.0.0.1", port, fetch: () => Response.json({ status: "healthy" }) });
process.on("SIGTERM", () => process.exit(0));
