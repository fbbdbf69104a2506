/**
 * Import a real machine: one entry point that recognises the source and hands it to its
 * reader.
 *
 * - a directory → a sysfs tree (a captured copy, or /sys);
 * - .tar, .tar.gz, .tgz, .tar.bz2, .tbz2 (or tar content, compressed or not) → a sysfs tarball;
 * - a gzip- or bzip2-compressed XML or text file is read as the file it holds;
 * - XML whose root element is <topology> → hwloc XML;
 * - text with "available: N nodes" or "node distances:" → numactl --hardware output.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { MachineSpec } from "../kernel/topology.js";
import { type ImportResult, MAX_INPUT_BYTES, TopologyImportError } from "./common.js";
import { importHwlocXml, looksLikeHwloc } from "./hwloc.js";
import { importNumactlText, looksLikeNumactl } from "./numactl-text.js";
import { getPreset } from "./presets.js";
import { diskTree, findDiskRoot, findTarRoot, importSysfs, tarTree } from "./sysfs.js";
import { decompress, readTar } from "./tar.js";

export type { ImportFormat, ImportResult } from "./common.js";
export { TopologyImportError } from "./common.js";

const TAR_NAME = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tb2)$/i;

/** A tar header: "ustar" at byte 257 of the first block. */
function isTar(buf: Buffer): boolean {
  return buf.length >= 512 && buf.toString("latin1", 257, 262) === "ustar";
}

function readSource(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TopologyImportError(
      path,
      "",
      code === "ENOENT" ? "no such file or directory" : `cannot read it (${(e as Error).message})`,
    );
  }
  if (size > MAX_INPUT_BYTES) {
    throw new TopologyImportError(
      path,
      "",
      `the file is ${size} bytes, larger than the ${MAX_INPUT_BYTES} bytes allowed`,
    );
  }
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TopologyImportError(path, "", `cannot read it (${(e as Error).message})`);
  }
}

/** Import the machine described at `path` (shown as `shown` in errors). */
export function importMachine(path: string, shown: string = path): ImportResult {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // readSource says why
  }
  if (isDir) {
    const root = findDiskRoot(path, shown);
    if (!root) {
      throw new TopologyImportError(
        shown,
        "",
        "the directory holds no sys/devices/system/node (not a sysfs tree)",
      );
    }
    return importSysfs(diskTree(root, shown), shown, "sysfs");
  }
  const raw = readSource(path);
  const data = decompress(raw, shown);
  if (TAR_NAME.test(path) || isTar(data)) {
    if (!isTar(data)) {
      throw new TopologyImportError(
        shown,
        "tar header",
        'expected a tar archive ("ustar" at byte 257 of the first block)',
      );
    }
    const entries = readTar(data, shown);
    const prefix = findTarRoot(entries, shown);
    return importSysfs(tarTree(entries, prefix), shown, "sysfs-tar");
  }
  // a compressed XML or text file
  if (data.length > MAX_INPUT_BYTES) {
    throw new TopologyImportError(
      shown,
      "",
      `unpacks to ${data.length} bytes, more than the ${MAX_INPUT_BYTES} bytes allowed`,
    );
  }
  if (data.includes(0)) {
    throw new TopologyImportError(
      shown,
      "",
      "binary content: expected hwloc XML, numactl --hardware text, or a sysfs tarball",
    );
  }
  const text = data.toString("utf8");
  if (looksLikeHwloc(text)) return importHwlocXml(text, shown);
  if (/^\s*</.test(text)) {
    throw new TopologyImportError(shown, "root element", "expected <topology> (an hwloc XML export)");
  }
  if (looksLikeNumactl(text)) return importNumactlText(text, shown);
  throw new TopologyImportError(
    shown,
    "",
    'not a machine description: expected hwloc XML (<topology>), numactl --hardware text ("available: N nodes"), a sysfs directory or a tarball of one',
  );
}

/**
 * What `cdmsim topo SOURCE` names, when it is not a scenario: a preset id, or a file or
 * directory to import (anything but a .yaml, .yml or .json file). Undefined for a scenario
 * file or a path that does not exist.
 */
export function topoSource(source: string): { machine: MachineSpec; notes?: string[] } | undefined {
  const preset = getPreset(source);
  if (preset) return { machine: preset.machine };
  if (!existsSync(source)) return undefined;
  if (statSync(source).isDirectory() || !/\.(ya?ml|json)$/i.test(source)) return importMachine(source);
  return undefined;
}
