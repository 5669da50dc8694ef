/**
 * Run by `lab/cluster_test.ts` inside a user namespace (`userNamespaceCommand`): builds labs
 * there and prints what it saw as one JSON line.
 *
 * @module
 */

import { Testbed } from "../mod.ts";

const out: Record<string, unknown> = {};
try {
  await using _tb = await Testbed.create({ nodes: ["a"], name: "userns-probe" });
  out.heartbeatFiles = "created";
} catch (e) {
  out.heartbeatFiles = e instanceof Error ? e.message : String(e);
}
{
  await using tb = await Testbed.create({
    nodes: ["a", "b"],
    client: true,
    name: "userns-probe",
    heartbeatFiles: false,
  });
  out.uname = (await tb.node("a").exec(["uname", "-n"], { check: true })).stdout.trim();
  out.addr = (await tb.node("b").exec(["ip", "-4", "-o", "addr", "show", "eth0"])).stdout;
  out.ping = (await tb.client!.exec(["ping", "-c", "1", "-W", "5", tb.node("b").address()])).code;
  out.baseDir = tb.baseDir;
}
console.log(JSON.stringify(out));
