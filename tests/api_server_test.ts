/**
 * The API server with a fake backend, driven by the REAL `/usr/bin/cl_status` (in a private
 * mount namespace whose /run/heartbeat is the server's directory) and by hb's own cl_status:
 * stdout, stderr (time stamp, host and pid masked) and exit code must be identical, and match
 * what api.md §7 says for the cases the capture cluster shows.
 */
import { assert, assertEquals } from "./assert.ts";
import { builtinApiAuth } from "./support/fake_api_backend.ts";
import { requireRealClient, type Rig, runOurs, runReal, startRig } from "./support/api.ts";

requireRealClient();

interface Case {
  args: string[];
  /** Expected real result (a spot check of the spec); stdout only when given. */
  code?: number;
  stdout?: string;
  stderrHas?: string;
}

async function compare(rig: Rig, cases: Case[]): Promise<number> {
  let n = 0;
  const diffs: string[] = [];
  for (const c of cases) {
    const real = await runReal(rig.runDir, c.args);
    const ours = await runOurs(rig.runDir, c.args);
    n++;
    if (JSON.stringify(real) !== JSON.stringify(ours)) {
      diffs.push(
        `cl_status ${c.args.join(" ")}\n  real: ${JSON.stringify(real)}\n  ours: ${
          JSON.stringify(ours)
        }`,
      );
    }
    if (c.code !== undefined) assertEquals(real.code, c.code, `exit of ${c.args.join(" ")}`);
    if (c.stdout !== undefined) assertEquals(real.stdout, c.stdout, `stdout of ${c.args}`);
    if (c.stderrHas !== undefined) {
      assert(real.stderr.includes(c.stderrHas), `${c.args}: stderr ${real.stderr}`);
    }
  }
  assertEquals(diffs, [], diffs.join("\n"));
  return n;
}

const RUNNING: Case[] = [
  { args: ["hbstatus"], code: 0, stdout: "Heartbeat is running on this machine.\n" },
  { args: ["hbstatus", "-v"], code: 0 },
  { args: ["hbstatus", "-m", "-v"], code: 0 },
  { args: ["hbstatus", "-m"], code: 0 },
  { args: ["hbstatus", "-x"], code: 0 },
  { args: ["listnodes"], code: 0, stdout: "198.18.20.3\nwa2\nwa1\n" },
  { args: ["listnodes", "-p"], code: 0, stdout: "198.18.20.3\n" },
  { args: ["listnodes", "-n"], code: 0, stdout: "wa2\nwa1\n" },
  { args: ["listnodes", "-n", "-p"], code: 0 },
  { args: ["listnodes", "-v"], code: 0 },
  { args: ["listnodes", "-m"], code: 0 },
  { args: ["listnodes", "-x"], code: 11 },
  { args: ["nodestatus", "wa2"], code: 0, stdout: "active\n" },
  { args: ["nodestatus", "-m", "wa2"], code: 0, stdout: "The cluster node wa2 is active\n" },
  { args: ["nodestatus", "wa2", "-m"], code: 0 },
  { args: ["nodestatus", "198.18.20.3"], code: 0, stdout: "ping\n" },
  { args: ["nodestatus", "WA2"], code: 0 },
  {
    args: ["nodestatus", "nosuchnode"],
    code: 11,
    stderrHas: "Error. May be due to incorrect node name",
  },
  { args: ["nodestatus"], code: 11, stderrHas: "Not enough parameters." },
  { args: ["nodestatus", "-x", "wa2"], code: 11 },
  { args: ["nodetype", "wa2"], code: 0, stdout: "normal\n" },
  { args: ["nodetype", "-m", "198.18.20.3"], code: 0 },
  { args: ["nodetype"], code: 11, stderrHas: "No enough parameter." },
  { args: ["nodeweight", "wa2"], code: 0, stdout: "100\n" },
  { args: ["nodeweight", "-m", "wa1"], code: 0 },
  { args: ["nodeweight", "nosuch"], code: 11 },
  { args: ["nodesite", "wa2"], code: 0, stdout: "\n" },
  { args: ["nodesite", "nosuch"], code: 11 },
  { args: ["listhblinks", "wa2"], code: 0, stdout: "\twa1e0\n" },
  { args: ["listhblinks", "-v", "wa1"], code: 0, stdout: "\twa1e0\tdead\n" },
  { args: ["listhblinks", "-m", "198.18.20.3"], code: 0 },
  { args: ["listhblinks", "nosuch"], code: 13, stderrHas: "REASON: EINVAL" },
  { args: ["listhblinks"], code: 11 },
  { args: ["hblinkstatus", "wa2", "wa1e0"], code: 0, stdout: "up\n" },
  { args: ["hblinkstatus", "wa1", "wa1e0"], code: 1, stdout: "dead\n" },
  { args: ["hblinkstatus", "-m", "wa2", "wa1e0"], code: 0 },
  { args: ["hblinkstatus", "wa2", "nosuchif"], code: 13 },
  { args: ["hblinkstatus", "wa2"], code: 11 },
  { args: ["clientstatus", "wa1", "ipfail"], code: 1, stdout: "offline\n" },
  { args: ["clientstatus", "wa2", "ipfail", "3000"], code: 0, stdout: "online\n" },
  { args: ["clientstatus", "wa2", "nosuchclient", "3000"], code: 1 },
  { args: ["clientstatus", "198.18.20.3", "ipfail"], code: 1 },
  { args: ["clientstatus", "nosuchnode", "ipfail"], code: 13, stderrHas: "No timely response." },
  { args: ["clientstatus", "-m", "wa1"], code: 11 },
  { args: ["rscstatus"], code: 0, stdout: "local\n" },
  { args: ["rscstatus", "-m"], code: 0, stdout: "This node is holding local resources.\n" },
  { args: ["hbparameter", "-p", "deadtime"], code: 0, stdout: "8\n" },
  { args: ["hbparameter", "-m", "-p", "keepalive"], code: 0 },
  { args: ["hbparameter", "-p", "crm"], code: 0, stdout: "off\n" },
  { args: ["hbparameter", "-p", "hbversion"], code: 0 },
  { args: ["hbparameter", "-p", "nosuchparam"], code: 1 },
  { args: ["hbparameter", "-p", "node"], code: 1 },
  { args: ["hbparameter"], code: 11, stderrHas: "parameter name required" },
  { args: ["hbparameter", "-p"], code: 11 },
  { args: ["test"], code: 0 },
  { args: ["bogus"], code: 11, stderrHas: "ERROR: bogus: invalid sub-command." },
  { args: [], code: 0 },
  { args: ["-h"], code: 0 },
  { args: ["-h", "x"], code: 11 },
];

Deno.test("cl_status: real and hb identical against a running server (≥ 50 invocations)", async () => {
  await using rig = startRig();
  const n = await compare(rig, RUNNING);
  assert(n >= 50, `${n} invocations`);
});

Deno.test("cl_status: not running (no socket) and stale socket", async () => {
  const runDir = Deno.makeTempDirSync({ prefix: "hb_api_none_" });
  Deno.mkdirSync(`${runDir}/heartbeat`);
  const noSocket: Case[] = [
    { args: ["hbstatus"], code: 1, stdout: "Heartbeat is stopped on this machine.\n" },
    { args: ["hbstatus", "-v"], code: 1 },
    {
      args: ["listnodes"],
      code: 1,
      stderrHas: "REASON: hb_api_signon: Can't initiate connection to heartbeat",
    },
    { args: ["nodestatus", "wa2"], code: 1 },
    { args: ["bogus"], code: 11 },
  ];
  try {
    await compare({ runDir } as Rig, noSocket);
  } finally {
    Deno.removeSync(runDir, { recursive: true });
  }
  // Stale: the server stopped and left its socket file (ECONNREFUSED).
  await using rig = startRig();
  await rig.server.stop();
  Deno.statSync(rig.path);
  await compare(rig, noSocket.slice(0, 4));
});

Deno.test("cl_status: refused sign-on (apiauth anon uid=12345)", async () => {
  await using rig = startRig((b) => {
    b.apiauth = builtinApiAuth(b.haIds, [{ client: "anon", uids: [12345], builtin: false }]);
  });
  await compare(rig, [
    {
      args: ["hbstatus"],
      code: 0,
      stdout: "Heartbeat is apparently running on this machine, but refuses my connection\n",
    },
    { args: ["hbstatus", "-v"], code: 0 },
    { args: ["nodestatus", "wa2"], code: 1, stderrHas: "REASON: client failed authorization" },
    { args: ["listnodes", "-v"], code: 1 },
  ]);
});

Deno.test("cl_status: pacemaker on, getrsc refused, msgfmt netstring, node states", async () => {
  await using rig = startRig((b) => {
    b.pacemaker = "respawn";
    b.msgfmt = "netstring";
    b.nodeList[1] = { ...b.nodeList[1], status: "dead", weight: 250, site: "berlin" };
  });
  await compare(rig, [
    { args: ["rscstatus"], code: 1 },
    { args: ["hbstatus", "-v"], code: 0 },
    { args: ["hbstatus", "-v", "-m"], code: 0 },
    { args: ["nodestatus", "wa2"], code: 1, stdout: "dead\n" },
    { args: ["nodeweight", "wa2"], code: 0, stdout: "250\n" },
    { args: ["nodesite", "-m", "wa2"], code: 0 },
    { args: ["clientstatus", "wa2", "ipfail"], code: 1 },
  ]);
  rig.backend.pacemaker = "off";
  rig.backend.rsc = {
    ok: false,
    info: "Resource is managed by crm. Use crm tool to query resource",
  };
  await compare(rig, [{ args: ["rscstatus"], code: 13 }, { args: ["test"], code: 0 }]);
});
