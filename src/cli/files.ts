/** Files the command writes: checked before the work, written whole or not at all. */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Whether a file can be written at `path` (its directory exists and takes files, and no
 * directory stands in the way): throws the error a write would meet, before any work.
 */
export function checkWritable(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
  const dir = dirname(path);
  if (!statSync(dir).isDirectory())
    throw Object.assign(new Error(`${dir} is not a directory`), { code: "ENOTDIR" });
  accessSync(dir, constants.W_OK);
}

/**
 * Write a file whole or not at all: a temporary file beside it, flushed, then renamed over
 * it; on any failure the temporary file is removed and the old file, if any, is untouched.
 */
export function writeFileAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, "w", 0o644);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** Why a file could not be written, as a user reads it. */
export function fsMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: "its directory does not exist",
    ENOTDIR: "a part of the path is not a directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EISDIR: "it is a directory",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
  };
  return (err.code && why[err.code]) ?? err.message ?? String(e);
}
