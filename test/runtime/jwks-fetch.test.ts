import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fetchJwks } from "@shopstream/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// jose tells "the keys could not be fetched" (503 for the caller) from "the token is bad" (401) by
// the error fetch would give: the JWKS fetch over node:http must fail the same way.
describe("fetchJwks", () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/silent") return; // never answers
      res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [{ kid: "k", accept: req.headers.accept }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers with the status and the parsed body", async () => {
    const ok = await fetchJwks(`${url}/jwks`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ keys: [{ kid: "k", accept: "application/json" }] });
    expect((await fetchJwks(`${url}/missing`)).status).toBe(404);
  });

  it("fails as fetch does: a TypeError when nothing listens, the signal's TimeoutError when nothing answers", async () => {
    await expect(fetchJwks("http://127.0.0.1:1/jwks")).rejects.toMatchObject({
      name: "TypeError",
      message: "fetch failed",
    });
    await expect(fetchJwks(`${url}/silent`, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({
      name: "TimeoutError",
    });
  });
});
