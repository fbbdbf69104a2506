/**
 * The system calls of the disk file system's files: pwrite, pread, sync, the placement
 * of a file's cached pages, per-node meminfo, and drop_caches. The page cache itself is
 * in pagecache.ts.
 */
import type { Kernel, Task } from "./kernel.js";
import { fileRead, fileWrite } from "./pagecache.js";
import { fail, ok, pagesOut, type SysResult } from "./syscalls.js";

/** ssize_t results above 2^53 are not expected: files are at most 16 TiB. */
const bytesRet = (b: bigint) => Number(b);

/** pwrite(open(file, O_CREAT|O_WRONLY), length bytes, offset) */
export function sysWriteFile(k: Kernel, task: Task, name: string, offset: bigint, length: bigint): SysResult {
  const f = k.pageCache.create(name, 0n);
  const r = fileWrite(k, task, f, offset, length);
  if (r.killed) return { ret: -1, errno: null, killed: true };
  // a short write returns what was written; nothing written is ENOMEM
  if (r.failed) return r.bytes > 0n ? ok(bytesRet(r.bytes)) : fail("ENOMEM");
  return ok(bytesRet(r.bytes));
}

/** pread(open(file, O_RDONLY) with POSIX_FADV_RANDOM, length bytes or up to the end, offset) */
export function sysReadFile(
  k: Kernel,
  task: Task,
  name: string,
  offset: bigint,
  length: bigint | "file",
): SysResult {
  const f = k.pageCache.file(name);
  if (!f) return fail("ENOENT");
  const len = length === "file" ? (f.size > offset ? f.size - offset : 0n) : length;
  const r = fileRead(k, task, f, offset, len);
  if (r.killed) return { ret: -1, errno: null, killed: true };
  if (r.failed) return fail("ENOMEM");
  return ok(bytesRet(r.bytes));
}

/** sync(): every dirty page is written back and becomes clean. */
export function sysSync(k: Kernel): SysResult {
  k.pageCache.writeback(k.pageCache.totalDirty);
  return ok(0);
}

/** The resident page-cache pages of a file per node. */
export function filePagesByNode(k: Kernel, name: string): Map<number, number> | undefined {
  const f = k.pageCache.file(name);
  if (!f) return undefined;
  const byNode = new Map<number, number>();
  for (const [zid, n] of k.pageCache.fileZones(f)) {
    const node = k.zoneById[zid]!.node;
    byNode.set(node, (byNode.get(node) ?? 0) + n);
  }
  return byNode;
}

export function sysFilePlacement(k: Kernel, name: string): SysResult {
  const m = filePagesByNode(k, name);
  return m ? ok(0, { pages: pagesOut(m) }) : fail("ENOENT");
}

/** The fields of /sys/devices/system/node/nodeN/meminfo the model keeps, in pages. */
export interface NodeMeminfo {
  MemTotal: number;
  MemFree: number;
  FilePages: number;
  Dirty: number;
}

/** node_read_meminfo() for the fields the model keeps. */
export function nodeMeminfo(k: Kernel, node: number): NodeMeminfo {
  const mi = k.nodeMeminfo(node);
  let file = 0;
  let dirty = 0;
  for (const z of k.zones.get(node) ?? []) {
    file += k.pageCache.pagesIn(z.id);
    dirty += k.pageCache.dirtyIn(z.id);
  }
  return { MemTotal: mi.total, MemFree: mi.free, FilePages: file, Dirty: dirty };
}

/** The meminfo op: per online node, in kB as the file shows them. */
export function sysMeminfo(k: Kernel): SysResult {
  const out: Record<string, unknown> = {};
  for (const id of k.online.ids()) {
    const m = nodeMeminfo(k, id);
    out[String(id)] = Object.fromEntries(Object.entries(m).map(([f, v]) => [f, v * 4]));
  }
  return ok(0, out);
}

/** echo 1 > /proc/sys/vm/drop_caches (drop_pagecache_sb): clean unmapped page cache is freed. */
export function dropCaches(k: Kernel, value: string): SysResult {
  const v = value.trim();
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 4) return fail("EINVAL");
  if (Number(v) & 1) k.pageCache.dropClean((zid, pages) => k.freeZonePages(zid, pages));
  return ok(value.length);
}
