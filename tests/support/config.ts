/**
 * Shared helpers for the config unit tests: an in-memory configuration
 * directory on the fake environment.
 *
 * @module
 */
import { heartbeatLines } from "../../config/diagnostics.ts";
import { loadConfig, type LoadResult } from "../../config/load.ts";
import { createFakeSystemView, type FakeFile, type SystemView } from "../../config/system_view.ts";

/** Base ha.cf lines that make a valid configuration on the fake system. */
export const BASE_HA_CF = [
  "keepalive 1",
  "deadtime 10",
  "node node1 node2",
  "logfile /dev/null",
  "bcast eth0",
];

/** Builds a fake system holding /cfg/{ha.cf,authkeys,haresources}. */
export function fakeDir(
  haCf: string,
  authkeys = "auth 1\n1 sha1 secret\n",
  haresources: string | undefined = "",
  extra: Record<string, FakeFile> = {},
  authMode = 0o600,
): SystemView {
  const files: Record<string, FakeFile> = {
    "/cfg/ha.cf": { content: haCf },
    "/cfg/authkeys": { content: authkeys, mode: authMode },
    "/dev/null": { type: "chr", mode: 0o666 },
    "/dev/ttyS0": { type: "chr", mode: 0o660 },
    "/bin/true": { mode: 0o755 },
    "/etc/ha.d/noexec": { mode: 0o644 },
    "/etc/ha.d/null.cfg": { content: "node1 node2\n" },
    ...extra,
  };
  if (haresources !== undefined) files["/cfg/haresources"] = { content: haresources };
  return createFakeSystemView({
    files,
    hosts: { "peer.example": "198.18.5.2" },
    interfaces: [
      { name: "lo", ipv4: [{ address: "127.0.0.1", prefixLen: 8, label: "lo" }] },
      {
        name: "eth0",
        ipv4: [{ address: "198.18.5.1", prefixLen: 24, broadcast: "198.18.5.255", label: "eth0" }],
      },
      { name: "eth1", ipv4: [] },
    ],
  });
}

/** Loads `/cfg` with the base lines plus `extra` ha.cf lines. */
export function loadWith(
  extra: string[],
  opts: { base?: string[]; authkeys?: string; haresources?: string } = {},
): LoadResult {
  const text = [...(opts.base ?? BASE_HA_CF), ...extra].join("\n") + "\n";
  return loadConfig({
    dir: "/cfg",
    displayDir: "/etc/ha.d/",
    nodeName: "node1",
    system: fakeDir(text, opts.authkeys, opts.haresources ?? ""),
  });
}

/** All Heartbeat lines of a result, joined with newlines. */
export function hbText(r: LoadResult): string {
  return r.diagnostics.flatMap(heartbeatLines).join("\n");
}

/**
 * The file the real Heartbeat 3.0.6 was run with for its OnlyForTesting start-up lines (an
 * unknown parameter, then a comment that stops the reading: the last `rcvloss=1` is unread).
 */
export const OFT_BOGUS_FILE = "xmitloss=0.0\nrcvloss=0.0\nbogus=1\nallownodes=;\n# c\nrcvloss=1\n";

/**
 * The real binary's start-up lines (testbed, Heartbeat 3.0.6) for {@link OFT_BOGUS_FILE} and any
 * file like it: both losses 0, an unknown `bogus`, `allownodes=;`, then a comment.
 */
export const OFT_BOGUS_LINES: readonly string[] = [
  "info: WARNING: Enabling Test Code",
  "info: Xmit loss probability = 0.000",
  "info: Receive loss probability = 0.000",
  "ERROR: Cannot recognize test param [bogus] in [/etc/ha.d//OnlyForTesting]",
  "info: Allow nodes = ;",
  "info: WARNING: Above Options Now Enabled.",
];
