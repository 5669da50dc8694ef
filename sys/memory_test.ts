import { assert } from "../tests/assert.ts";
import { libcGroup } from "./libc.ts";
import { releaseFreedMemory } from "./memory.ts";

const heap = libcGroup(
  {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
    memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
  } as const,
);

function privateDirtyKb(): number {
  const text = Deno.readTextFileSync("/proc/self/smaps_rollup");
  return Number(/^Private_Dirty:\s+(\d+) kB/m.exec(text)![1]);
}

Deno.test("memory: releaseFreedMemory gives freed heap memory back to the kernel", () => {
  // what a start-up leaves behind: many blocks below glibc's mmap threshold, written, and every
  // other one freed: holes between live blocks, which free() alone never gives back
  const c = heap();
  const blocks: Deno.PointerValue[] = [];
  for (let i = 0; i < 512; i++) {
    const p = c.malloc(64n * 1024n);
    c.memset(p, 1, 64n * 1024n);
    blocks.push(p);
  }
  blocks.forEach((p, i) => i % 2 === 0 && c.free(p));
  const before = privateDirtyKb();
  const r = releaseFreedMemory();
  assert(r.ok, r.ok ? "" : r.error.message);
  const after = privateDirtyKb();
  blocks.forEach((p, i) => i % 2 === 1 && c.free(p));
  // 16 MiB were freed in holes; at least half of it must go back
  assert(before - after >= 8 * 1024, `private dirty ${before} kB -> ${after} kB`);
});
