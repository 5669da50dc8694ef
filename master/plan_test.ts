/**
 * From a configuration directory to the runtime plan (master/plan.ts): what the core, the
 * media, the resource layer and the API get, and a refused configuration.
 */

import { assert, assertEquals } from "../tests/assert.ts";
import { corpusSystem } from "../tests/support/config_corpus.ts";
import { loadForStart, realtimeConfig, type StartConfig, toRuntimePlan } from "./plan.ts";

/** Loads `files` (name → text) as a configuration directory of node1. */
function load(files: Record<string, string>, manageResources = true): StartConfig {
  const dir = Deno.makeTempDirSync({ prefix: "hb_plan_test_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(`${dir}/${name}`, text);
      Deno.chmodSync(`${dir}/${name}`, 0o600);
    }
    return loadForStart({ confDir: dir, manageResources, debug: 0, system: corpusSystem(dir) });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const HA_CF =
  "udpport 694\nkeepalive 2\ndeadtime 12\nwarntime 6\ninitdead 24\nbcast eth0\nnode node1 node2\nauto_failback off\n";
const AUTHKEYS = "auth 1\n1 sha1 secret\n";

Deno.test("plan: the core, media, keys, resources and API of a two-node configuration", () => {
  const cfg = load({ "ha.cf": HA_CF, authkeys: AUTHKEYS, haresources: "node2 198.18.5.10\n" });
  assert(cfg.ok, JSON.stringify(cfg.diagnostics));
  const plan = toRuntimePlan(cfg, {
    uuid: new Uint8Array(16).fill(7),
    generation: 5,
    fifo: "/run/test/fifo",
    apiSocket: "/run/test/api",
    confDir: "/etc/ha.d",
  });
  assertEquals(plan.core.nodeName, "node1");
  assertEquals(plan.core.nodes, ["node1", "node2"]);
  assertEquals(plan.core.links, ["eth0"]);
  assertEquals(
    [plan.core.keepaliveMs, plan.core.deadtimeMs, plan.core.warntimeMs, plan.core.initdeadMs],
    [2000, 12000, 6000, 24000],
  );
  assertEquals([plan.core.generation, plan.core.uuid[0]], [5, 7]);
  assertEquals(plan.media, [{
    type: "bcast",
    ifname: "eth0",
    port: 694,
    broadcast: "198.18.5.255",
  }]);
  assertEquals(plan.keys.active, 1);
  assertEquals(plan.keys.keys.get(1)?.method, "sha1");
  assertEquals(plan.fifo, "/run/test/fifo");
  assertEquals(plan.api?.socket, "/run/test/api");
  assertEquals(plan.api?.backend.nodeName, "node1");
  assertEquals(plan.resources?.autoFailback, "off");
  assertEquals(plan.resources?.rmGroups.map((g) => [g.node, g.key]), [["node2", "198.18.5.10"]]);
  assertEquals(plan.env?.HA_deadtime, "12");
  assertEquals(plan.identity?.version !== undefined, true);
  assertEquals(plan.watchdog, undefined);
  assertEquals(plan.stonith, undefined);
  assertEquals(realtimeConfig(cfg)?.realtime, true, "realtime is Heartbeat's default");
});

Deno.test("plan: -M (no resource management) gives a plan without resources", () => {
  const cfg = load(
    { "ha.cf": HA_CF, authkeys: AUTHKEYS, haresources: "node1 198.18.5.10\n" },
    false,
  );
  assert(cfg.ok, JSON.stringify(cfg.diagnostics));
  const plan = toRuntimePlan(cfg, { uuid: new Uint8Array(16), generation: 1, fifo: "/f" });
  assertEquals(plan.resources, undefined);
  assertEquals(plan.api, undefined, "no API socket asked for");
});

Deno.test("plan: a configuration Heartbeat refuses is not ok and says why", () => {
  const cfg = load({ "ha.cf": HA_CF });
  assertEquals(cfg.ok, false);
  assert(cfg.diagnostics.length > 0);
  assertEquals(cfg.media, []);
  assertEquals(realtimeConfig(cfg), undefined);
});
