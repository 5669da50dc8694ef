// Test helper for realtime_test.ts: each stdin line is a command ("rt <prio>", "normal",
// "quit"); each answer is one JSON line on stdout.
import { makeNormal, makeRealtime } from "../realtime.ts";

const dec = new TextDecoder();
let pending = "";
const out = (v: unknown) =>
  console.log(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
out({ ready: true });
for await (const chunk of Deno.stdin.readable) {
  pending += dec.decode(chunk);
  let nl;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const [cmd, arg] = pending.slice(0, nl).split(" ");
    pending = pending.slice(nl + 1);
    if (cmd === "rt") out(makeRealtime(Number(arg)));
    else if (cmd === "normal") out(makeNormal());
    else Deno.exit(0);
  }
}
