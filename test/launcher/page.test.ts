// The launcher page in real Chromium: start a profile, its light turns green, its log lines appear, stop
// it; a syntax error in the editor is shown inline and the file stays as it was; the fix is saved; problems
// are marked as one types and keys are completed from the schema.
// LAUNCHER_SCREENSHOT=docs/launcher.png also writes the README's screenshot (two servers running).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startLauncher, type Launcher } from "../../src/launcher/index.ts";
import { buildPages } from "../../tools/webBuild.ts";
import { openBrowser, type BrowserSession } from "../support/browser.ts";
import { call, labDir, profileIn, procExists, type LabDir, removeLabDirs, spawnLauncher } from "./support.ts";

const SECRET = "page-test-secret";
let lab: LabDir;
let launcher: Launcher;
let b: BrowserSession;

beforeAll(async () => {
  await buildPages(resolve(import.meta.dir, "../.."));
  lab = labDir();
  launcher = await startLauncher({ configFlag: lab.config, port: 0, cwd: lab.dir, secret: SECRET, runDir: lab.runDir });
  b = await openBrowser({ viewport: { width: 1360, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await b?.[Symbol.asyncDispose]();
  await launcher?.quit();
  removeLabDirs();
});

const row = (name: string) => b.page.locator(`tr[data-profile="${name}"]`);

describe("launcher page", () => {
  test("start a profile: the light turns green, its log lines appear; stop it", async () => {
    const { page } = b;
    await page.goto(launcher.http.urlWithToken);
    // The secret moves to sessionStorage and leaves the address bar.
    await page.waitForFunction(
      () => !(globalThis as unknown as { location: { search: string } }).location.search.includes("token="),
    );
    await row("alpha").waitFor({ timeout: 10_000 });
    expect(await row("alpha").getAttribute("data-state")).toBe("stopped");
    expect(await row("alpha").innerText()).toContain("Laser bench");

    await page.getByRole("button", { name: "Start alpha" }).click();
    await page.locator('tr[data-profile="alpha"][data-state="healthy"]').waitFor({ timeout: 30_000 });
    const light = await row("alpha")
      .locator(".light")
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el)
            .backgroundColor,
      );
    expect(light).toBe("rgb(31, 157, 85)");
    expect(await row("alpha").getByRole("link", { name: "Swagger UI" }).getAttribute("href")).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/swagger$/,
    );

    const logs = page.getByTestId("log-lines");
    await logs.getByText(/labdaemon serving/).waitFor({ timeout: 10_000 });
    // The search narrows the lines; the level filter hides info lines.
    await page.getByTestId("log-search").fill("serving");
    expect(await logs.locator(".log-line").count()).toBe(1);
    await page.getByTestId("log-search").fill("");
    await page.getByTestId("log-level").selectOption("error");
    expect(await logs.locator(".log-line").count()).toBe(0);
    await page.getByTestId("log-level").selectOption("info");

    await page.getByRole("button", { name: "Stop alpha" }).click();
    await page.locator('tr[data-profile="alpha"][data-state="stopped"]').waitFor({ timeout: 15_000 });
    await logs.getByText(/\[launcher\] stopped/).waitFor({ timeout: 5_000 });
    expect(b.foreignRequests()).toEqual([]);
  }, 60_000);

  test("a syntax error in the editor is shown inline and not written; the fix is saved", async () => {
    const { page } = b;
    const before = readFileSync(lab.config, "utf8");
    const content = page.locator(".cm-content");
    await content.click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.insertText("@oops ");
    await page.getByTestId("save-config").click();
    const message = page.getByTestId("config-message");
    await message.getByText(/Not saved: 422 ConfigError/).waitFor({ timeout: 10_000 });
    expect(await message.innerText()).toContain(`${lab.config}:1:`);
    await page.locator(".cm-lintRange-error").first().waitFor({ timeout: 5_000 });
    expect(await page.locator(".cm-lint-marker-error").count()).toBeGreaterThan(0);
    expect(readFileSync(lab.config, "utf8")).toBe(before);

    await content.click();
    await page.keyboard.press("Control+Home");
    for (let i = 0; i < "@oops ".length; i++) await page.keyboard.press("Delete");
    await page.keyboard.press("Control+End");
    await page.keyboard.insertText("  gamma:\n    port: 0\n");
    await page.getByTestId("save-config").click();
    await message.getByText(/^Saved /).waitFor({ timeout: 10_000 });
    expect(await page.locator(".cm-lintRange-error").count()).toBe(0);
    const after = readFileSync(lab.config, "utf8");
    expect(after).toContain("  gamma:\n");
    expect(after.startsWith("configs:")).toBe(true);
    expect(readFileSync(`${lab.config}.bak`, "utf8")).toBe(before);
    await row("gamma").waitFor({ timeout: 5_000 });
    expect(b.foreignRequests()).toEqual([]);
  }, 60_000);

  test("the editor marks a problem as one types, before any save, and completes keys and values from the schema", async () => {
    const { page } = b;
    const before = readFileSync(lab.config, "utf8");
    expect(before.endsWith("  gamma:\n    port: 0\n")).toBe(true);
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+End");
    // Inside gamma: the keys a profile may hold are offered; choosing one offers its values. (Clicked: the
    // popup ignores Enter for its first few milliseconds, so a fast Enter would be a newline.)
    await page.keyboard.type("    logL");
    const completions = page.locator(".cm-tooltip-autocomplete");
    await completions.getByText("logLevel").click({ timeout: 5_000 });
    await page.keyboard.type("wa");
    await completions.getByText("warn").click({ timeout: 5_000 });
    expect(await page.locator(".cm-line").last().innerText()).toBe("    logLevel: warn");

    // A misspelt key is marked on its line, with serve's words, while the file stays as it was.
    await page.keyboard.press("Control+End");
    await page.keyboard.insertText("\n    prot: 1\n");
    const mark = page.locator(".cm-lintRange-error");
    await mark.first().waitFor({ timeout: 10_000 });
    expect(await mark.count()).toBe(1);
    expect(await mark.innerText()).toContain("prot: 1");
    await mark.hover();
    const tip = page.locator(".cm-tooltip-lint");
    await tip.waitFor({ timeout: 5_000 });
    expect(await tip.innerText()).toContain("configs.gamma.prot unknown key (expected one of: name, description");
    expect(readFileSync(lab.config, "utf8")).toBe(before);

    await page.getByRole("button", { name: "Reload from disk" }).click();
    await mark.first().waitFor({ state: "detached", timeout: 5_000 });
    expect(b.foreignRequests()).toEqual([]);
  }, 60_000);

  test("two servers running (and the README's screenshot when asked)", async () => {
    const { page } = b;
    await page.getByRole("button", { name: "Start alpha" }).click();
    await page.locator('tr[data-profile="alpha"][data-state="healthy"]').waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Start beta" }).click();
    await page.locator('tr[data-profile="beta"][data-state="healthy"]').waitFor({ timeout: 30_000 });
    await call(launcher.http.url, SECRET, "POST", "/api/profiles/broken/start");
    await profileIn(launcher.http.url, SECRET, "broken", "crashed");
    await page.locator('tr[data-profile="broken"][data-state="crashed"]').waitFor({ timeout: 10_000 });
    expect(await row("broken").innerText()).toContain("crashed (exit 1)");
    expect(await page.locator("tr.crash pre").innerText()).toContain("failed to connect");
    const shot = process.env.LAUNCHER_SCREENSHOT;
    if (shot) {
      await page.locator("tr[data-profile] .state-word").first().waitFor();
      await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
      await page.screenshot({ path: resolve(import.meta.dir, "../..", shot), fullPage: true });
    }
    expect(b.foreignRequests()).toEqual([]);
  }, 90_000);

  test("each row's controls say whose they are: keep running, and the buttons of a server left behind", async () => {
    const { page } = b;
    const own = labDir();
    // A launcher of its own process: only a launcher that has ended leaves records to take over.
    const first = await spawnLauncher(own);
    let second: Launcher | null = null;
    let pid = 0;
    try {
      await page.goto(`${first.base}?token=${first.token}`);
      await row("alpha").waitFor({ timeout: 10_000 });
      for (const name of ["alpha", "beta", "broken"])
        expect(await page.getByRole("checkbox", { name: `keep running: ${name}`, exact: true }).count()).toBe(1);
      await page.getByRole("checkbox", { name: "keep running: alpha", exact: true }).check();
      await page.getByRole("button", { name: "Start alpha" }).click();
      await page.locator('tr[data-profile="alpha"][data-state="healthy"]').waitFor({ timeout: 30_000 });
      pid = (await call(first.base, first.token, "GET", "/api/profiles/alpha")).body.pid;
      first.proc.kill("SIGTERM"); // quits, leaving alpha running and its record for the next launcher
      expect(await first.proc.exited).toBe(0);
      second = await startLauncher({
        configFlag: own.config,
        port: 0,
        cwd: own.dir,
        secret: SECRET,
        runDir: own.runDir,
      });
      await page.goto(second.http.urlWithToken);
      const adopt = page.getByRole("button", { name: `Adopt alpha (PID ${pid})`, exact: true });
      await adopt.waitFor({ timeout: 10_000 });
      expect(await adopt.isEnabled()).toBe(true);
      await page.getByRole("button", { name: `Stop alpha (PID ${pid})`, exact: true }).click();
      await page.locator("tr[data-orphan]").waitFor({ state: "detached", timeout: 15_000 });
      expect(procExists(pid)).toBe(false);
      expect(b.foreignRequests()).toEqual([]);
    } finally {
      if (pid && procExists(pid)) process.kill(pid, "SIGTERM");
      first.proc.kill("SIGKILL");
      await second?.quit();
    }
  }, 60_000);

  test("a launcher restarted with a new secret: the page forgets the refused token and asks for the new one", async () => {
    const { page } = b;
    const own = labDir();
    const first = await startLauncher({
      configFlag: own.config,
      port: 0,
      cwd: own.dir,
      secret: "old-secret",
      runDir: own.runDir,
    });
    let second: Launcher | null = null;
    try {
      await page.goto(first.http.urlWithToken);
      await row("alpha").waitFor({ timeout: 10_000 });
      await page.getByTestId("log-lines").waitFor({ timeout: 10_000 }); // its log stream follows too
      await first.quit();
      second = await startLauncher({
        configFlag: own.config,
        port: first.http.port,
        cwd: own.dir,
        secret: "new-secret",
        runDir: own.runDir,
      });
      await page.getByTestId("token-refused").waitFor({ timeout: 10_000 });
      expect(await page.getByTestId("token-refused").innerText()).toContain("refused the token");
      const stored = await page.evaluate(() =>
        (globalThis as unknown as { sessionStorage: Storage }).sessionStorage.getItem("labdaemon.token"),
      );
      expect(stored).toBeNull();
      await page.getByLabel("Token").fill("new-secret");
      await page.getByRole("button", { name: "Use it" }).click();
      await row("alpha").waitFor({ timeout: 10_000 });
      expect(await page.getByTestId("token-refused").count()).toBe(0);
      expect(b.foreignRequests()).toEqual([]);
    } finally {
      await first.quit();
      await second?.quit();
    }
  }, 60_000);
});
