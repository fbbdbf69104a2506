/**
 * A small reader of tar archives (POSIX ustar, with GNU long names and pax extended
 * headers), gzip- or bzip2-compressed or not: enough to read a captured sysfs tree.
 *
 * Format facts (POSIX.1-2001 pax/ustar): 512-byte headers; name[100] at 0, size[12] octal
 * at 124 (or base-256 when its first byte has the high bit), chksum[8] at 148 (sum of the
 * header's bytes with the field read as spaces), typeflag at 156, linkname[100] at 157,
 * magic "ustar" at 257, prefix[155] at 345 (ustar only). Type 'L'/'K' (GNU) carry the next
 * entry's long name/link name as data; 'x' carries "LEN key=value\n" records for the next
 * entry, 'g' for all (ignored). The archive ends with zero blocks or at the end of data.
 */
import { gunzipSync } from "node:zlib";
import Bunzip from "seek-bzip";
import { clip, MAX_UNPACKED_BYTES, TopologyImportError } from "./common.js";

export interface TarEntry {
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
  data: Buffer;
  /** the target of a symbolic or hard link */
  linkname?: string;
}

/** At most this many members (a captured sysfs tree has a few thousand). */
export const MAX_TAR_MEMBERS = 500_000;

const BLOCK = 512;

/** Decompress gzip or bzip2 data (recognised by magic numbers); other data is returned as is. */
export function decompress(buf: Buffer, file: string, limit = MAX_UNPACKED_BYTES): Buffer {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf, { maxOutputLength: limit });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ERR_BUFFER_TOO_LARGE" || /maxOutputLength|buffer/i.test((e as Error).message)) {
        throw new TopologyImportError(file, "gzip data", `unpacks to more than ${limit} bytes`);
      }
      throw new TopologyImportError(file, "gzip data", `is damaged (${(e as Error).message})`);
    }
  }
  if (buf.length >= 3 && buf.toString("latin1", 0, 3) === "BZh") return bunzip2(buf, file, limit);
  return buf;
}

class TooLarge extends Error {}
class Truncated extends Error {}

function bunzip2(buf: Buffer, file: string, limit: number): Buffer {
  // the input stream reports its end so that a truncated file fails instead of reading zeros
  const input = {
    pos: 0,
    readByte(): number {
      if (this.pos >= buf.length) throw new Truncated();
      return buf[this.pos++]!;
    },
    read(out: Uint8Array, off: number, len: number): number {
      let n = 0;
      while (n < len && this.pos < buf.length) out[off + n++] = buf[this.pos++]!;
      return n === 0 && len > 0 ? -1 : n;
    },
    seek(p: number) {
      this.pos = p;
    },
    eof(): boolean {
      return this.pos >= buf.length;
    },
  };
  let out = Buffer.alloc(Math.min(limit, Math.max(1 << 16, buf.length * 8)));
  const output = {
    pos: 0,
    writeByte(b: number) {
      if (this.pos >= out.length) {
        if (out.length >= limit) throw new TooLarge();
        const bigger = Buffer.alloc(Math.min(limit, out.length * 2));
        out.copy(bigger);
        out = bigger;
      }
      out[this.pos++] = b;
    },
    write(b: Uint8Array, off: number, len: number): number {
      for (let i = 0; i < len; i++) this.writeByte(b[off + i]!);
      return len;
    },
    flush() {},
  };
  try {
    Bunzip.decode(input, output, true);
  } catch (e) {
    if (e instanceof TooLarge)
      throw new TopologyImportError(file, "bzip2 data", `unpacks to more than ${limit} bytes`);
    if (e instanceof Truncated)
      throw new TopologyImportError(file, "bzip2 data", "ends early (the file is truncated)");
    throw new TopologyImportError(file, "bzip2 data", `is damaged (${(e as Error).message})`);
  }
  return out.subarray(0, output.pos);
}

/** A NUL-terminated field as text. */
function field(h: Buffer, off: number, len: number): string {
  const end = h.indexOf(0, off);
  return h.toString("utf8", off, end === -1 || end > off + len ? off + len : end);
}

function octal(h: Buffer, off: number, len: number, file: string, where: string, what: string): number {
  if (h[off]! & 0x80) {
    // base-256 (GNU): big-endian two's complement in the remaining bytes
    let v = 0n;
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(h[i]!);
    if (h[off] === 0xff || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new TopologyImportError(file, where, `${what} is out of range`);
    }
    return Number(v);
  }
  const s = field(h, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s))
    throw new TopologyImportError(file, where, `${what} "${clip(s)}" is not an octal number`);
  return Number.parseInt(s, 8);
}

/** "LEN key=value\n" records of a pax extended header. */
function paxRecords(data: Buffer, file: string, where: string): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    if (sp === -1) break;
    const lenText = data.toString("latin1", p, sp);
    const len = Number(lenText);
    if (!/^\d+$/.test(lenText) || len <= sp - p || p + len > data.length) {
      throw new TopologyImportError(file, where, "a pax extended header record is malformed");
    }
    const rec = data.toString("utf8", sp + 1, p + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p += len;
  }
  return out;
}

/** A member path without "./", leading or trailing slashes, or doubled slashes. */
export function normalise(name: string): string {
  let n = name.replace(/\\/g, "/");
  while (n.startsWith("./")) n = n.slice(2);
  n = n.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\/+/g, "/");
  return n;
}

/** The members of a tar archive (already decompressed), by normalised path. */
export function readTar(buf: Buffer, file: string): Map<string, TarEntry> {
  const out = new Map<string, TarEntry>();
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  let members = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break; // end of archive
    const rawName = field(h, 0, 100);
    const where = `tar member ${members + 1} ("${clip(rawName, 60)}") at byte ${off}`;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    const stored = octal(h, 148, 8, file, where, "header checksum");
    if (stored !== sum) {
      throw new TopologyImportError(
        file,
        where,
        `header checksum ${stored} does not match ${sum}: not a tar archive, or damaged`,
      );
    }
    const type = String.fromCharCode(h[156]!);
    // a pax "size" record stands for a size the octal field cannot hold
    const paxSize = type !== "x" && type !== "g" ? pax?.get("size") : undefined;
    if (paxSize !== undefined && !/^\d{1,15}$/.test(paxSize)) {
      throw new TopologyImportError(file, where, `pax size "${clip(paxSize)}" is not a byte count`);
    }
    const size = paxSize !== undefined ? Number(paxSize) : octal(h, 124, 12, file, where, "size");
    const dataStart = off + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > buf.length) {
      throw new TopologyImportError(
        file,
        where,
        `its ${size} bytes of data go past the end of the archive (truncated)`,
      );
    }
    const data = buf.subarray(dataStart, dataEnd);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (++members > MAX_TAR_MEMBERS) {
      throw new TopologyImportError(file, where, `more than ${MAX_TAR_MEMBERS} members`);
    }
    if (type === "L") {
      longName = field(data, 0, data.length);
      continue;
    }
    if (type === "K") {
      longLink = field(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      pax = paxRecords(data, file, where);
      continue;
    }
    if (type === "g") continue;
    const magic = h.toString("latin1", 257, 263);
    const prefix = magic === "ustar\0" ? field(h, 345, 155) : "";
    let name = longName ?? pax?.get("path") ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const linkname = longLink ?? pax?.get("linkpath") ?? field(h, 157, 100);
    longName = longLink = pax = undefined;
    name = normalise(name);
    if (name === "" || name.split("/").includes("..")) continue;
    const kind: TarEntry["type"] =
      type === "0" || type === "\0" || type === "7"
        ? "file"
        : type === "5"
          ? "dir"
          : type === "2"
            ? "symlink"
            : type === "1"
              ? "hardlink"
              : "other";
    out.set(name, {
      type: kind,
      data,
      linkname: kind === "symlink" || kind === "hardlink" ? linkname : undefined,
    });
  }
  if (members === 0)
    throw new TopologyImportError(file, "", "the archive has no member (not a tar archive?)");
  return out;
}
