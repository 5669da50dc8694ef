/**
 * The peers the benchmark compares hb with besides Heartbeat 3.0.6: keepalived 2.2.7 (VRRPv3)
 * and Corosync 3 + Pacemaker 2 (knet, `two_node: 1`, stonith off, one `ocf:heartbeat:IPaddr2`
 * address). Their configuration from the benchmark's timers, the command a testbed node runs,
 * and how the benchmark sees their state (log lines, `crm_mon`).
 *
 * Timers: keepalived's `advert_int` is the keepalive (VRRP declares the master down after
 * 3 × advert_int + skew, so its deadtime follows from it); Corosync's `token` is deadtime / 2.2
 * (a node is lost after token + consensus, consensus = 1.2 × token), e.g. 455 ms for 1 s.
 *
 * Each Pacemaker node runs in its own testbed node (pid, mount, network namespaces) with
 * private tmpfs over `/dev/shm` (libqb IPC), `/var/lib/pacemaker` and `/var/lib/corosync`, a
 * private `/etc/corosync` (bound from the node's config dir) and the node's own `/run` and
 * `/var/log`; `corosync -f` starts first, `pacemakerd` once `corosync-cfgtool -s` answers.
 *
 * @module
 */

import type { TestNode } from "../lab/mod.ts";

/** The peer implementations. */
export const PEERS = ["keepalived", "pacemaker"] as const;
/** A peer implementation. */
export type Peer = typeof PEERS[number];

/** True for a peer (not hb or Heartbeat). */
export function isPeer(impl: string): impl is Peer {
  return (PEERS as readonly string[]).includes(impl);
}

/**
 * The smallest `token` (ms) Corosync 3.1 takes with the default
 * `token_retransmits_before_loss_const` (4): both the token and its retransmit timeout
 * (token / 4.2) must be at least 30 ms ("Not appropriate token or
 * token_retransmits_before_loss_const value set" below it).
 */
export const COROSYNC_MIN_TOKEN_MS = 126;

/**
 * Corosync's token timeout (ms) whose node-loss time (token + 1.2 × token) is `deadtimeMs`,
 * at least {@link COROSYNC_MIN_TOKEN_MS} (deadtime 50 ms runs with token 126: lost after 277 ms).
 */
export function corosyncToken(deadtimeMs: number): number {
  return Math.max(COROSYNC_MIN_TOKEN_MS, Math.round(deadtimeMs / 2.2));
}

/** `advert_int` text (seconds, centisecond resolution, at least 0.01) for a keepalive. */
export function advertInt(keepaliveMs: number): string {
  const cs = Math.max(1, Math.round(keepaliveMs / 10));
  return String(cs / 100);
}

/**
 * The opening lines of the bench's one VRRP instance on node `i` (0-based): both nodes BACKUP
 * with `nopreempt` (as `auto_failback off`), node1 the higher priority, one advertisement every
 * `advertIntS` seconds. The caller adds the addresses (and checks) and the closing brace.
 */
export function vrrpInstanceHead(i: number, advertIntS: number | string): string {
  return `vrrp_instance VI_1 {
  state BACKUP
  nopreempt
  interface eth0
  virtual_router_id 51
  priority ${i === 0 ? 150 : 100}
  advert_int ${advertIntS}`;
}

/**
 * keepalived.conf of node `i` (0-based): one VRRPv3 instance, both `state BACKUP` with
 * `nopreempt` (the address stays where it is when the other node comes back: `auto_failback
 * off`), priorities 150 and 100, the service address on eth0.
 *
 * Advertisements go to VRRP's multicast group (224.0.0.18), as Heartbeat's and hb's `bcast`
 * need no ARP. With `unicast_peer` the master's ARP entry for a peer that was down is still
 * unresolved when the peer restarts (the next ARP request comes up to 1 s later), the restarted
 * node hears no advertisement within 3 × advert_int, becomes MASTER for a moment and points the
 * client's ARP cache at itself: the address was unreachable before 3 of 8 kills at 100ms/500ms.
 */
export function keepalivedBenchConf(
  i: number,
  serviceIp: string,
  keepaliveMs: number,
): string {
  return `global_defs {
  router_id node${i + 1}
  vrrp_version 3
}
${vrrpInstanceHead(i, advertInt(keepaliveMs))}
  virtual_ipaddress {
    ${serviceIp}/24 dev eth0
  }
}
`;
}

/** The command a keepalived node runs (foreground, log to the console, VRRP only). */
export const KEEPALIVED_CMD = [
  "keepalived",
  "-n",
  "-l",
  "-D",
  "-P",
  "-f",
  "/etc/ha.d/keepalived.conf",
  "-p",
  "/run/keepalived.pid",
  "-r",
  "/run/vrrp.pid",
];

/**
 * corosync.conf for `nodes` (name and one address per link): knet, one link per medium,
 * `two_node: 1`, token from the deadtime, logging to stderr (the node's console log) with
 * high-resolution time stamps.
 */
export function corosyncConf(
  nodes: readonly { name: string; addrs: readonly string[] }[],
  deadtimeMs: number,
): string {
  const links = nodes[0].addrs.length;
  const nodelist = nodes.map((n, i) =>
    `  node {\n    name: ${n.name}\n    nodeid: ${i + 1}\n` +
    n.addrs.map((a, k) => `    ring${k}_addr: ${a}\n`).join("") + "  }\n"
  ).join("");
  const interfaces = Array.from(
    { length: links },
    (_, k) => `  interface {\n    linknumber: ${k}\n  }\n`,
  )
    .join("");
  return `totem {
  version: 2
  cluster_name: hbbench
  transport: knet
  token: ${corosyncToken(deadtimeMs)}
  crypto_cipher: none
  crypto_hash: none
${interfaces}}
nodelist {
${nodelist}}
quorum {
  provider: corosync_votequorum
  two_node: 1
}
logging {
  to_stderr: yes
  to_logfile: no
  to_syslog: no
  timestamp: hires
}
uidgid {
  uid: hacluster
  gid: haclient
}
`;
}

/**
 * The node's command for Corosync + Pacemaker: private tmpfs mounts, `corosync -f` in the
 * background, `pacemakerd` (exec'd: the daemon SIGTERM reaches) once `corosync-cfgtool -s`
 * answers. The node's init kills corosync when pacemakerd exits.
 */
export const PACEMAKER_CMD = [
  "/bin/bash",
  "-c",
  `set -eu
for d in /dev/shm /var/lib/pacemaker /var/lib/corosync; do mount -t tmpfs -o mode=0755 hbbench "$d"; done
chmod 1777 /dev/shm
for d in cib pengine blackbox cores; do
  mkdir -p /var/lib/pacemaker/$d; chown hacluster:haclient /var/lib/pacemaker/$d; chmod 0750 /var/lib/pacemaker/$d
done
mkdir -p /var/log/pacemaker /run/pacemaker; chown hacluster:haclient /var/log/pacemaker /run/pacemaker
mount --bind /etc/ha.d/corosync /etc/corosync
corosync -f &
for i in $(seq 1 300); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.05; done
corosync-cfgtool -s >/dev/null
exec pacemakerd`,
];

/** Environment of the Pacemaker daemons: their log file in the node's /var/log. */
export const PACEMAKER_ENV = {
  PCMK_logfile: "/var/log/pacemaker/pacemaker.log",
  PCMK_logfacility: "none",
};

/** The IPaddr2 primitive: `serviceIp`/24 on eth0, monitored every 10 s. */
export function ipaddr2Primitive(serviceIp: string): string {
  return `<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">` +
    `<instance_attributes id="vip-ia">` +
    `<nvpair id="vip-ip" name="ip" value="${serviceIp}"/>` +
    `<nvpair id="vip-nm" name="cidr_netmask" value="24"/>` +
    `<nvpair id="vip-nic" name="nic" value="eth0"/>` +
    `</instance_attributes><operations>` +
    `<op id="vip-mon" name="monitor" interval="10s" timeout="20s"/>` +
    `</operations></primitive>`;
}

/** Runs `cmd` on `node`; throws with its output when it fails. */
async function must(node: TestNode, cmd: string[]): Promise<string> {
  const r = await node.exec(cmd, { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new Error(`${node.name}: ${cmd.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * The nodes `crm_mon` on `node` shows online, and whether a DC is elected; undefined when
 * crm_mon cannot answer yet.
 */
export async function pacemakerView(
  node: TestNode,
): Promise<{ online: string[]; dc: boolean } | undefined> {
  const r = await node.exec(["crm_mon", "-1", "-X"], { timeoutMs: 10_000 });
  if (r.code !== 0) return undefined;
  const online = [...r.stdout.matchAll(/<node name="([^"]+)"[^>]*online="true"/g)].map((m) => m[1]);
  const dc = /<current_dc[^>]*present="true"/.test(r.stdout);
  return { online: online.sort(), dc };
}

/**
 * Once both nodes run and see each other: stonith off, resource stickiness (the address stays
 * where it is when the other node comes back: `auto_failback off`), then the IPaddr2 address.
 */
export async function configurePacemaker(node: TestNode, serviceIp: string): Promise<void> {
  await must(node, [
    "crm_attribute",
    "--type",
    "crm_config",
    "--name",
    "stonith-enabled",
    "--update",
    "false",
  ]);
  await must(node, [
    "crm_attribute",
    "--type",
    "rsc_defaults",
    "--name",
    "resource-stickiness",
    "--update",
    "100",
  ]);
  await must(node, ["cibadmin", "--create", "-o", "resources", "-X", ipaddr2Primitive(serviceIp)]);
}

/**
 * The survivor's line that shows it declared the victim lost: keepalived's master-down timer
 * (or its MASTER transition), Corosync's new membership without the victim.
 */
export function peerDetectLine(peer: Peer): RegExp {
  return peer === "keepalived"
    ? /Receive advertisement timeout|Entering MASTER STATE/
    : /Members left: \d/;
}

/** Writes the peer's configuration into every node of a two-node cluster. */
export async function writePeerConfig(
  peer: Peer,
  nodes: readonly TestNode[],
  serviceIp: string,
  timing: { keepaliveMs: number; deadtimeMs: number },
  media: number,
): Promise<void> {
  if (peer === "keepalived") {
    for (const [i, n] of nodes.entries()) {
      await n.writeConfig(
        "keepalived.conf",
        keepalivedBenchConf(i, serviceIp, timing.keepaliveMs),
      );
    }
    return;
  }
  const conf = corosyncConf(
    nodes.map((n) => ({
      name: n.name,
      addrs: Array.from({ length: media }, (_, k) => n.address(k)),
    })),
    timing.deadtimeMs,
  );
  for (const n of nodes) await n.writeConfig("corosync/corosync.conf", conf);
}
