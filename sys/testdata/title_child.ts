// Test helper for proctitle_test.ts: sets the title given as argument, reports, then waits
// until stdin is closed.
import { processTitleStatus, setProcessTitle } from "../proctitle.ts";

const ok = setProcessTitle(Deno.args[0]);
console.log(JSON.stringify({ ok, ...processTitleStatus() }));
// Allocate a little after the change to show malloc/brk still work.
const junk: Uint8Array[] = [];
for (let i = 0; i < 1000; i++) junk.push(new Uint8Array(new ArrayBuffer(4096 + i)));
console.log(JSON.stringify({ allocated: junk.length }));
await Deno.stdin.readable.pipeTo(new WritableStream());
