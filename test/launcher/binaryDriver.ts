// Run by binary.test.ts, inside a network namespace whose only interface is loopback when the machine
// allows one: the compiled launcher from its empty folder, driven by Chromium through a start and a stop,
// then quit from the page. Prints one JSON line with what it saw.
// Usage: bun test/launcher/binaryDriver.ts EXE WORKSPACE
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { openBrowser } from "../support/browser.ts";

const [exe, ws] = process.argv.slice(2) as [string, string];
const env = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: join(ws, "home"),
  TMPDIR: process.env.TMPDIR ?? "/tmp",
  LABDAEMON_RUN_DIR: join(ws, "run"),
};
const launcher = Bun.spawn([exe, "launcher", "--no-open", "--port", "0"], {
  cwd: ws,
  env,
  stdout: "pipe",
  stderr: "pipe",
  stdin: "ignore",
});
const kill = setTimeout(() => launcher.kill("SIGKILL"), 60_000);
let stderr = "";
void (async () => {
  for await (const c of launcher.stderr as ReadableStream<Uint8Array>) stderr += new TextDecoder().decode(c);
})();
let out = "";
const reader = (launcher.stdout as ReadableStream<Uint8Array>).getReader();
while (!/token=\S+\n/.test(out)) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`launcher exited before printing its URL: ${stderr}`);
  out += new TextDecoder().decode(value);
}
const url = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)![1]!;

const result: Record<string, unknown> = { interfaces: Object.keys(networkInterfaces()) };
const b = await openBrowser();
try {
  const { page } = b;
  await page.goto(url);
  await page.getByRole("button", { name: "Start alpha" }).click();
  await page.locator('tr[data-profile="alpha"][data-state="healthy"]').waitFor({ timeout: 30_000 });
  const pid = Number((await page.locator('tr[data-profile="alpha"] td').nth(4).innerText()).trim());
  await page
    .getByTestId("log-lines")
    .getByText(/labdaemon serving/)
    .waitFor({ timeout: 10_000 });
  result.childPid = pid;
  result.childCommand = (await Bun.file(`/proc/${pid}/cmdline`).text()).split("\0").filter(Boolean);
  await page.getByRole("button", { name: "Quit" }).click();
  await page.getByText("The launcher has quit").waitFor({ timeout: 15_000 });
  result.requests = b.requests;
  result.foreign = b.foreignRequests();
} finally {
  await b[Symbol.asyncDispose]();
}
result.exitCode = await launcher.exited;
clearTimeout(kill);
result.childAlive = await Bun.file(`/proc/${result.childPid}/stat`).exists();
result.stderr = stderr;
console.log(JSON.stringify(result));
