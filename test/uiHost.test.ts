// `safetune ui` answers only requests addressed to it: a page on another name that resolves to 127.0.0.1 (DNS
// rebinding) must not read the runs; --allowed-host names more.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { test } from "node:test";
import { REPO_ROOT, tmpDir } from "./helpers/fixtures.js";
import { rawRequest } from "./helpers/rawHttp.js";

const BIN = `${REPO_ROOT}/bin/safetune.js`;

function startUi(
  runs: string,
  args: string[],
): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, [BIN, "ui", "--runs", runs, "--port", "0", ...args]);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const url = /(http:\/\/127\.0\.0\.1:\d+)\/ui/.exec(out)?.[1];
      if (url) resolve({ child, url });
    });
    child.on("exit", (code) => reject(new Error(`safetune ui exited ${code}: ${out}`)));
  });
}

test("safetune ui: a foreign Host gets 403 with a one-line JSON error; localhost, IPs and --allowed-host names pass", async (t) => {
  const { child, url } = await startUi(tmpDir(t, "ui-host-"), ["--allowed-host", "dash.example"]);
  try {
    const foreign = await rawRequest(url, { path: "/api/runs", headers: { host: "evil.example" } });
    assert.equal(foreign.status, 403);
    const body = JSON.parse(foreign.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "host_not_allowed");
    assert.match(body.error.message, /'evil\.example' does not name this server/);
    for (const host of ["localhost:1234", "127.0.0.1", "dash.example:80"]) {
      const ok = await rawRequest(url, { path: "/api/runs", headers: { host } });
      assert.equal(ok.status, 200, `${host}: ${ok.body}`);
    }
  } finally {
    child.kill();
  }
});
