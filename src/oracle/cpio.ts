/**
 * A gzip'd "newc" cpio archive: the initramfs format the kernel unpacks
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 */
import { gzipSync } from "node:zlib";

export interface CpioEntry {
  path: string;
  /** file contents; undefined for a directory; a string starting with "->" is a symlink target */
  data?: Buffer;
  symlink?: string;
  mode?: number;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, size: number, name: string): Buffer {
  const fields = [
    "070701",
    hex8(ino),
    hex8(mode),
    hex8(0), // uid
    hex8(0), // gid
    hex8(1), // nlink
    hex8(0), // mtime
    hex8(size),
    hex8(0), // devmajor
    hex8(0), // devminor
    hex8(0), // rdevmajor
    hex8(0), // rdevminor
    hex8(name.length + 1),
    hex8(0), // check
  ];
  const h = Buffer.from(`${fields.join("") + name}\0`, "latin1");
  return Buffer.concat([h, Buffer.alloc(pad4(h.length))]);
}

export function cpioGz(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\//, "");
    let mode: number;
    let data: Buffer;
    if (e.symlink !== undefined) {
      mode = 0o120777;
      data = Buffer.from(e.symlink, "latin1");
    } else if (e.data === undefined) {
      mode = 0o040755;
      data = Buffer.alloc(0);
    } else {
      mode = 0o100000 | (e.mode ?? 0o644);
      data = e.data;
    }
    parts.push(header(ino++, mode, data.length, name), data, Buffer.alloc(pad4(data.length)));
  }
  parts.push(header(0, 0, 0, "TRAILER!!!"));
  return gzipSync(Buffer.concat(parts), { level: 6 });
}
