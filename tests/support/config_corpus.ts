/**
 * Test helpers: the fake environment the fixture corpus is written for
 * (node1; `lo`, `eth0` 198.18.5.1/24 with broadcast, `eth1` without IPv4).
 *
 * @module
 */
import { createFakeSystemView, type SystemView, withRealDir } from "../../config/system_view.ts";

/** A fake environment mirroring the oracle's network namespace, reading `dir` from disk. */
export function corpusSystem(dir: string): SystemView {
  const base = createFakeSystemView({
    hostname: "node1",
    interfaces: [
      { name: "lo", ipv4: [{ address: "127.0.0.1", prefixLen: 8, label: "lo" }] },
      {
        name: "eth0",
        ipv4: [{ address: "198.18.5.1", prefixLen: 24, broadcast: "198.18.5.255", label: "eth0" }],
      },
      { name: "eth1", ipv4: [] },
    ],
    services: {
      "ha-cluster/udp": 694,
      "domain/udp": 53,
      "afs3-fileserver/udp": 7000,
      "afs3-callback/udp": 7001,
    },
    files: {
      "/dev/null": { type: "chr", mode: 0o666 },
      "/bin/true": { mode: 0o755 },
      "/usr/libexec/heartbeat/ccm": { mode: 0o755 },
      "/etc/ha.d/resource.d/IPaddr": { mode: 0o755 },
    },
    hosts: {},
  });
  return withRealDir(base, dir);
}
