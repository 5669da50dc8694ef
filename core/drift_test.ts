import { assertEquals } from "../tests/assert.ts";
import { type ConfigDigest, decodeDigest, encodeDigest, PeerTracker } from "./drift.ts";

const A: ConfigDigest = { haresources: "aaaa", authkeys: "bbbb", timing: "cccc" };

Deno.test("drift: digest encoding round-trips, bad values refused", () => {
  assertEquals(encodeDigest(A), "r:aaaa,a:bbbb,t:cccc");
  assertEquals(decodeDigest(encodeDigest(A)), A);
  assertEquals(decodeDigest("r:aaaa,a:bbbb"), undefined);
  assertEquals(decodeDigest("r:AAAA,a:bbbb,t:cccc"), undefined);
  assertEquals(decodeDigest("x"), undefined);
});

Deno.test("drift: logged once per change, named by part and node; Heartbeat peers never compared", () => {
  const t = new PeerTracker(A);
  assertEquals(t.status("node2", "0.1.0", encodeDigest(A)), []);
  assertEquals(t.peer("node2")?.implementation, "hb");
  const other = encodeDigest({ ...A, haresources: "dddd" });
  const logs = t.status("node2", "0.1.0", other);
  assertEquals(logs.length, 1);
  assertEquals(logs[0].prio, "WARN");
  assertEquals(
    logs[0].text,
    "Configuration drift: node node2 differs in haresources (ours aaaa, theirs dddd)",
  );
  // every later heartbeat with the same digest: nothing more
  for (let i = 0; i < 5; i++) assertEquals(t.status("node2", "0.1.0", other), []);
  assertEquals(t.peer("node2")?.drift, ["haresources"]);
  // a new difference is a change: logged again
  const two = encodeDigest({ ...A, haresources: "dddd", timing: "eeee" });
  assertEquals(t.status("node2", "0.1.0", two).map((l) => l.text), [
    "Configuration drift: node node2 differs in haresources (ours aaaa, theirs dddd), timing (ours cccc, theirs eeee)",
  ]);
  // back in line
  assertEquals(t.status("node2", "0.1.0", encodeDigest(A)), [
    { prio: "info", text: "Configuration drift: node node2 matches again" },
  ]);
  // our authkeys change (reload): compared again
  assertEquals(t.setOwn({ ...A, authkeys: "ffff" }).map((l) => l.text), [
    "Configuration drift: node node2 differs in authkeys (ours ffff, theirs bbbb)",
  ]);
  // a real Heartbeat peer: no fields, no comparison, no log
  assertEquals(t.status("node3", undefined, undefined), []);
  assertEquals(t.peer("node3"), { implementation: "heartbeat", drift: [] });
});
