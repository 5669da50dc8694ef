/**
 * apiauth decided on kernel credentials (SO_PEERCRED): clients run as other users with
 * `setpriv`, the real cl_status (setgid haclient) and a tiny raw python client that can claim
 * any uid/gid. A claimed uid is never trusted.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { builtinApiAuth } from "./support/fake_api_backend.ts";
import { requireRealClient, runReal, startRig } from "./support/api.ts";

requireRealClient();

const NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];

const PY = `
import os, socket, struct, sys
path, cid, uid, gid = sys.argv[1:5]
uid = str(os.geteuid()) if uid == "-" else uid
gid = str(os.getegid()) if gid == "-" else gid
pid = str(os.getpid())
cid = pid if cid == "-" else cid
body = ">>>\\nt=hbapi-req\\nreqtype=signon\\ndest=wa1\\npid=%s\\nfrom_id=%s\\nuid=%s\\ngid=%s\\n<<<\\n\\0" % (pid, cid, uid, gid)
b = body.encode()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(struct.pack("<iI", len(b), 0xabcd) + b)
data = b""
s.settimeout(3)
while True:
    try:
        c = s.recv(65536)
    except socket.timeout:
        break
    if not c:
        data += b"<EOF>"
        break
    data += c
out = []
while len(data) >= 8 and data[:5] != b"<EOF>":
    n, magic = struct.unpack("<iI", data[:8])
    msg = data[8:8 + n].decode(errors="replace").strip("\\0").split("\\n")
    out.append(",".join(l for l in msg if "=" in l))
    data = data[8 + n:]
    if data.startswith(b"<EOF>"):
        out.append("EOF")
        break
print("|".join(out))
`;

async function py(path: string, runAs: string[], cid = "-", uid = "-", gid = "-"): Promise<string> {
  const out = await new Deno.Command("setpriv", {
    args: [...runAs, "/usr/bin/python3", "-c", PY, path, cid, uid, gid],
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`python client failed: ${err}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("apiauth: real cl_status as nobody passes anon through its setgid haclient egid", async () => {
  await using rig = startRig();
  const r = await runReal(rig.runDir, ["hbstatus"], NOBODY);
  assertEquals(r.stdout, "Heartbeat is running on this machine.\n");
  assertEquals(r.code, 0);
});

Deno.test("apiauth: anon uid=root refuses the real cl_status run as nobody", async () => {
  await using rig = startRig((b) => {
    b.apiauth = builtinApiAuth(b.haIds, [{ client: "anon", uids: [0], builtin: false }]);
  });
  const r = await runReal(rig.runDir, ["hbstatus", "-v"], NOBODY);
  assertEquals(
    r.stdout,
    "Heartbeat is apparently running on this machine, but refuses my connection\n" +
      "(client failed authorization)\n",
  );
  assertEquals(r.code, 0);
  const r2 = await runReal(rig.runDir, ["listnodes"], NOBODY);
  assertEquals(r2.code, 1);
  assertStringIncludes(r2.stderr, "<LOG> ERROR: REASON: client failed authorization");
  // root still passes.
  assertEquals((await runReal(rig.runDir, ["hbstatus"])).code, 0);
});

Deno.test("apiauth: unlisted uid/gid and false claims are refused from kernel credentials", async () => {
  await using rig = startRig();
  // nobody:nogroup, honest claim: anon is uid=root gid=haclient → refused.
  const a = await py(rig.path, NOBODY);
  assertStringIncludes(a, "info=client failed authorization,result=badreq,deadtime=1f40");
  assertStringIncludes(a, "EOF");
  // nobody claiming root: the kernel says otherwise.
  const b = await py(rig.path, NOBODY, "-", "0", "0");
  assertStringIncludes(b, "info=incorrect/false credentials,result=badreq");
  // nobody claiming to be in haclient while its egid is nogroup.
  const c = await py(rig.path, NOBODY, "-", "-", String(rig.backend.haIds.haclient));
  assertStringIncludes(c, "info=incorrect/false credentials");
  // nobody with egid haclient (honest): anon's gid list admits it.
  const d = await py(rig.path, ["--reuid=nobody", "--regid=haclient", "--clear-groups"]);
  assertStringIncludes(d, "result=OK");
  // Named clients: ipfail needs uid hacluster; an unknown name has no default entry.
  const e = await py(
    rig.path,
    ["--reuid=hacluster", "--regid=haclient", "--clear-groups"],
    "ipfail",
  );
  assertStringIncludes(e, "t=hbapi-clstat,st=join,from_id=ipfail");
  assertStringIncludes(e, "result=OK");
  const f = await py(rig.path, NOBODY, "ipfail");
  assertStringIncludes(f, "info=client failed authorization");
  // …and a refused named client gets its leave before the close.
  assertStringIncludes(
    f,
    "t=hbapi-clstat,st=leave,from_id=ipfail,to_id=ipfail,src=wa1,info=client failed authorization",
  );
  const g = await py(rig.path, NOBODY, "someapp");
  assertStringIncludes(g, "info=no default client auth");
  // The server still serves root.
  assertEquals((await runReal(rig.runDir, ["nodestatus", "wa2"])).stdout, "active\n");
});
