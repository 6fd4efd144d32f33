import { afterAll, describe, expect, test } from "bun:test";
import {
  hostAllowed,
  hostCheck,
  hostCheckFor,
  hostName,
  isLoopbackAddress,
} from "../../../src/server/middleware/hostCheck.ts";
import { rawRequest } from "../../support/rawHttp.ts";
import { serveChain } from "./support.ts";

const loopback = serveChain(() => [hostCheck("loopback")]);
const wide = serveChain(() => [hostCheck("address")]);
afterAll(async () => {
  await loopback.stop();
  await wide.stop();
});

describe("hostCheck", () => {
  test("which bind addresses are loopback, and what a server checks Host names against", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "LocalHost"]) expect(isLoopbackAddress(h)).toBe(true);
    for (const h of ["0.0.0.0", "192.168.1.5", "::", "lab.local"]) expect(isLoopbackAddress(h)).toBe(false);
    expect(hostCheckFor("127.0.0.1", false)).toBe("loopback");
    expect(hostCheckFor("0.0.0.0", false)).toBe("address");
    expect(hostCheckFor("0.0.0.0", true)).toBeNull();
    expect(hostCheck(null)).toBeNull();
  });

  test("hostName strips the port and keeps IPv6 brackets", () => {
    expect(hostName("http://lab.example:5000")).toBe("lab.example");
    expect(hostName("http://[::1]:5000")).toBe("[::1]");
    expect(hostName("http://localhost")).toBe("localhost");
    expect(hostName("http://[::1]evil.example")).toBe("[::1]evil.example"); // no loopback name
  });

  test("a Host header no URL can be made of is judged as it was sent, not taken for HTTP/1.0's missing Host", async () => {
    for (const host of ["evil.example#x", "127.0.0.1@evil.example", "localhost\\evil.example", "[::1]evil.example"]) {
      const res = await rawRequest(loopback.port, "GET", "/x", { host });
      expect(`${host} → ${res.status}`).toBe(`${host} → 403`);
    }
  });

  test("hostAllowed: loopback names always; IP literals only on a wider bind; DNS names never", () => {
    for (const name of ["localhost", "app.localhost", "127.0.0.1", "[::1]", ""]) {
      expect(hostAllowed(name, "loopback")).toBe(true);
    }
    expect(hostAllowed("192.168.1.5", "loopback")).toBe(false);
    expect(hostAllowed("192.168.1.5", "address")).toBe(true);
    expect(hostAllowed("[fe80::1%25eth0]", "address")).toBe(true);
    expect(hostAllowed("attacker.example", "address")).toBe(false);
  });

  test("a loopback server answers loopback Host names and refuses a DNS name with 403 HostNotAllowed", async () => {
    expect((await rawRequest(loopback.port, "GET", "/x", { host: `localhost:${loopback.port}` })).status).toBe(200);
    const res = await rawRequest(loopback.port, "GET", "/x", { host: `rebound.example:${loopback.port}` });
    expect(res.status).toBe(403);
    const body = JSON.parse(res.body);
    expect(body.error.type).toBe("HostNotAllowed");
    expect(body.error.context).toEqual({ host: "rebound.example" });
    expect(body.error.message).toContain("not a loopback name");
  });

  test("a server on a wider bind answers IP-address Host names and refuses DNS names", async () => {
    expect((await rawRequest(wide.port, "GET", "/x", { host: `10.0.0.7:${wide.port}` })).status).toBe(200);
    const res = await rawRequest(wide.port, "GET", "/x", { host: "lab.example" });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.message).toContain("rebinding");
  });
});
