/**
 * Heartbeat's request scripts: `req_resource` (asking for our own groups after a start, a
 * failback or a takeover) and, for `auto_failback legacy`, `rc.d/ip-request`,
 * `rc.d/ip-request-resp` and `rc.d/hb_takeover` (hb fixes 5, 16, 39).
 *
 * @module
 */

import type { CoreMessage } from "../message.ts";
import { keysOf } from "./rules.ts";
import { RSC_FOREIGN, RSC_LOCAL, Standby } from "./types.ts";
import type { OwnershipState } from "./state.ts";
import {
  announceAcquisition,
  heldByBystander,
  log,
  msgEnv,
  multi,
  peersHeldOr,
  peersHoldOurs,
  run,
  send,
  sendHeld,
} from "./context.ts";

/** req_our_resources: the child runs req_resource for each local group at the next step. */
export function reqOurResources(s: OwnershipState, getAnyway: boolean): void {
  if (s.shutdownInProgress) return;
  if (s.nice) {
    const someoneHasOurs = multi(s) ? peersHoldOurs(s) : (peersHeldOr(s) & RSC_FOREIGN) !== 0;
    if ((someoneHasOurs || (s.held & RSC_LOCAL) !== 0) && !getAnyway) {
      if (s.standby === Standby.NOT) {
        log(s, "info", "Local Resource acquisition completed. (none)");
        return;
      }
    }
    s.held |= RSC_LOCAL;
  }
  let activePeers = 0;
  for (const p of s.peers.values()) if (p.status === "active") activePeers++;
  const dontAsk = activePeers + 1 < 2;
  s.timers.push({
    at: s.now,
    child: true,
    serial: s.serial,
    fn: () => {
      const keys = keysOf(s.cfg.groups, s.me);
      for (const key of keys) {
        if (s.holding.has(key)) continue;
        // hb fix 43 (3+ nodes): one of ours a living peer reports running stays there (a
        // takeover after a third node's death asked for every group of ours, and both ran
        // it: found by the simulator, explore_own_group_on_third_node.txt); if the report
        // was stale the orphan sweep gives it back to us. With auto_failback on the holder
        // sends it home by a standby exchange, release first (hb fix 47: taking it here and
        // letting the duplicate resolution stop it there ran it on both for a moment:
        // explore_own_group_failback_three.txt)
        if (
          multi(s) && s.cfg.autoFailback !== "legacy" &&
          heldByBystander(s, key, new Set())
        ) continue;
        if (!s.nice && !dontAsk) {
          send(s, [["t", "ip-request"], ["ipaddr", key]]);
          awaitIpRequestResp(s, key);
        } else {
          send(s, [
            ["t", "ip-request-resp"],
            ["dest", s.me],
            ["ipaddr", key],
            ["weown", "yes"],
            ["ok", "OK"],
          ]);
        }
      }
      if (keys.length === 0) {
        log(
          s,
          "info",
          `No local resources [/usr/share/heartbeat/ResourceManager listkeys ${s.me}] to acquire.`,
          "heartbeat-child",
        );
      } else {
        log(s, "info", "Local Resource acquisition completed.", "heartbeat-child");
      }
      sendHeld(s, true, "req_our_resources()");
      // the child exits (RscMgmtProcessDied)
      s.timers.push({
        at: s.now,
        child: false,
        fn: () => {
          if (dontAsk) {
            s.localWorkDone = true;
            announceAcquisition(s, "req_our_resources");
          }
        },
      });
    },
  });
}

/** rc.d/hb_takeover on a peer: hb_standby with the mapped class (failback → all, quirk). */
export function onHbTakeover(s: OwnershipState, from: string, msg: CoreMessage): void {
  log(s, "info", `Running ${s.cfg.haDir}/rc.d/hb_takeover hb_takeover`, "harc");
  if (from === s.me) return;
  const arg = msg.get("rsc_hold");
  const mapped = arg === "local" ? "foreign" : arg === "foreign" ? "local" : "all";
  log(s, "info", `Going standby [${mapped}].`, "hb_standby");
  send(s, [["t", "ask_resources"], ["rsc_hold", mapped], ["info", "me"]]);
}

/** rc.d/ip-request. */
export function onIpRequest(s: OwnershipState, from: string, msg: CoreMessage): void {
  const key = msg.get("ipaddr");
  if (key === undefined) return;
  log(s, "info", `Running ${s.cfg.haDir}/rc.d/ip-request ip-request`, "harc");
  const answer = (weown: string) =>
    send(s, [
      ["t", "ip-request-resp"],
      ["dest", from],
      ["ipaddr", key],
      ["weown", weown],
      ["ok", "OK"],
    ]);
  if (s.holding.has(key)) {
    run(s, "give", [key], "ip-request", msgEnv(s, msg), () => answer("yes"));
  } else {
    answer("no");
  }
}

/**
 * hb fix 39 (legacy): an ip-request nobody answered (the peers alive then were still in
 * their initdead, before their own communication was up) is asked again every RQSTDELAY
 * until an answer comes: Heartbeat asks once, and the group ran nowhere for good (found by
 * the simulator: core/sim/testdata/explore_legacy_unanswered_request.txt).
 */
function awaitIpRequestResp(s: OwnershipState, key: string): void {
  if (s.ipRequestPending.has(key)) return;
  s.ipRequestPending.add(key);
  s.timers.push({
    at: s.now + s.cfg.rqstDelayMs,
    child: false,
    fn: () => {
      if (!s.ipRequestPending.delete(key)) return;
      if (s.holding.has(key) || s.shutdownInProgress || !s.commUp) return;
      send(s, [["t", "ip-request"], ["ipaddr", key]]);
      awaitIpRequestResp(s, key);
    },
  });
}

/** rc.d/ip-request-resp. */
export function onIpRequestResp(s: OwnershipState, msg: CoreMessage): void {
  if (msg.get("dest") !== s.me) return;
  const key = msg.get("ipaddr");
  if (key === undefined) return;
  s.ipRequestPending.delete(key);
  const ok = msg.get("ok") ?? "";
  log(s, "info", `Running ${s.cfg.haDir}/rc.d/ip-request-resp ip-request-resp`, "harc");
  log(s, "", `received ip-request-resp ${key} ${ok} ${msg.get("weown") ?? ""}`, "ip-request-resp");
  if (ok !== "OK") return;
  run(s, "take", [key], "ip-request-resp", msgEnv(s, msg), () => {
    s.localWorkDone = true;
    announceAcquisition(s, "ip-request-resp");
  });
}
