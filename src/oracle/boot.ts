/**
 * Booting Debian's Linux kernel under QEMU with a scenario batch in its initramfs, and
 * collecting what the guest runner printed.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { INITRD_PAGES } from "../kernel/zone.js";
import { type CpioEntry, cpioGz } from "./cpio.js";
import type { GuestMachine } from "./machine.js";
import { FILES_DIR } from "./program.js";

/** The package's root folder (dist/oracle or src/oracle → ../..). */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

export function cacheDir(): string {
  return process.env.CDMSIM_ORACLE_CACHE ?? join(packageRoot(), ".cache", "oracle");
}

export class OracleSetupError extends Error {}

export interface OracleKernel {
  /** e.g. linux-image-6.1.0-56-amd64 */
  package: string;
  /** "linux-6.1.0-56-amd64", the engine name in results */
  engine: string;
  vmlinuz: string;
  /** the modules a disk needs (modules/ of the kernel's cache folder) */
  modulesDir: string;
}

/** The kernel fetched by `npm run oracle:setup`. */
export function findKernel(): OracleKernel {
  const dir = join(cacheDir(), "kernel");
  const pkgs = existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith("linux-image-")) : [];
  for (const p of pkgs.sort().reverse()) {
    const vmlinuz = join(dir, p, "vmlinuz");
    if (existsSync(vmlinuz))
      return {
        package: p,
        engine: p.replace(/^linux-image-/, "linux-"),
        vmlinuz,
        modulesDir: join(dir, p, "modules"),
      };
  }
  throw new OracleSetupError(`no kernel in ${dir}: run \`npm run oracle:setup\` first`);
}

function which(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** The guest runner, compiled statically from its C source (rebuilt when the source changes). */
export function guestRunner(): string {
  const src = join(packageRoot(), "src", "oracle", "guest", "runner.c");
  if (!existsSync(src)) throw new OracleSetupError(`the guest runner's source is missing (${src})`);
  const code = readFileSync(src);
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const out = join(cacheDir(), `runner-${hash}`);
  if (existsSync(out)) return out;
  if (!which("gcc")) throw new OracleSetupError("gcc is missing: run `npm run oracle:setup` first");
  mkdirSync(cacheDir(), { recursive: true });
  const r = spawnSync("gcc", ["-static", "-O2", "-Wall", "-o", out, src], { encoding: "utf8" });
  if (r.status !== 0) throw new OracleSetupError(`compiling the guest runner failed:\n${r.stderr}`);
  pruneRunners(out);
  return out;
}

/** Runners of older sources, not rebuilt for a day, go (each is about 1 MB). */
function pruneRunners(keep: string): void {
  const day = 24 * 3600 * 1000;
  for (const f of readdirSync(cacheDir())) {
    const path = join(cacheDir(), f);
    if (!f.startsWith("runner-") || path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > day) rmSync(path, { force: true });
    } catch {
      // gone already (another verify pruned it)
    }
  }
}

const BUSYBOX = "/bin/busybox";
const APPLETS = ["sh", "mount", "mkdir", "echo", "cat", "poweroff", "sysctl"];

export interface BootOptions {
  thp: "never" | "madvise" | "always";
  minFreeKbytes?: number;
  /** a disk of this many bytes (an ext4 file system, mounted at FILES_DIR) */
  diskBytes?: number;
}

/** The disk's modules, in the order they are inserted, and the initramfs segment holding them. */
export function diskModules(kernel: OracleKernel): { order: string[]; archive: Buffer } {
  const orderFile = join(kernel.modulesDir, "modules.order");
  const archiveFile = join(kernel.modulesDir, "modules.cpio.xz");
  if (!existsSync(orderFile) || !existsSync(archiveFile))
    throw new OracleSetupError(
      `the kernel's modules are missing (${kernel.modulesDir}): run \`npm run oracle:setup\` again`,
    );
  const order = readFileSync(orderFile, "utf8").split("\n").filter(Boolean);
  return { order, archive: readFileSync(archiveFile) };
}

/**
 * The lines of /init that bring the disk up, on CPU 0 (busybox taskset) so that what they
 * allocate goes to CPU 0's node: insert the modules (busybox insmod, in dependency order;
 * virtio_blk's probe adds /dev/vda), remove their files from the rootfs (their pages go
 * back to the free lists), mount the ext4 file system without atime updates (a read would
 * dirty the inode: touch_atime()), and stop the periodic writeback (wb_workfn() every
 * dirty_writeback_centisecs, writing what expired after dirty_expire_centisecs) so that
 * dirty pages stay dirty until the scenario syncs.
 */
export function diskInit(modules: readonly string[]): string[] {
  const cpu0 = "/bin/busybox taskset 1 /bin/busybox";
  return [
    ...modules.map((m) => `${cpu0} insmod /modules/${m}.ko`),
    "/bin/busybox rm -r /modules",
    "n=0; while ! test -b /dev/vda && [ $n -lt 500 ]; do /bin/busybox usleep 10000; n=$((n+1)); done",
    `mkdir -p ${FILES_DIR}`,
    `${cpu0} mount -t ext4 -o noatime /dev/vda ${FILES_DIR} || echo "@@X -1 mount /dev/vda failed" > /dev/ttyS1`,
    "echo 0 > /proc/sys/vm/dirty_writeback_centisecs",
  ];
}

/**
 * The initramfs: busybox, the runner, the program and an /init that runs it; with a disk,
 * the modules follow as a second (xz) segment, which the kernel's unpacker takes after the
 * first (unpack_to_rootfs()).
 */
export function initramfs(runner: string, program: string, opts: BootOptions, kernel?: OracleKernel): Buffer {
  if (!existsSync(BUSYBOX))
    throw new OracleSetupError(`${BUSYBOX} is missing: run \`npm run oracle:setup\` first`);
  const disk = opts.diskBytes !== undefined ? diskModules(kernel ?? findKernel()) : undefined;
  const init = [
    "#!/bin/sh",
    "export PATH=/bin",
    "mount -t proc proc /proc",
    "mount -t sysfs sysfs /sys",
    "mount -t devtmpfs devtmpfs /dev",
    "mount -t cgroup2 none /sys/fs/cgroup",
    ...(disk ? diskInit(disk.order) : []),
    opts.minFreeKbytes !== undefined ? `echo ${opts.minFreeKbytes} > /proc/sys/vm/min_free_kbytes` : "",
    // the runner's lines go to the second serial port, away from the kernel's console
    "echo @@BOOTED > /dev/ttyS1",
    "/bin/runner /program.txt > /dev/ttyS1",
    "echo @@DONE > /dev/ttyS1",
    "poweroff -f",
    "",
  ]
    .filter((l) => l !== "")
    .join("\n");
  const entries: CpioEntry[] = [
    { path: "bin" },
    { path: "proc" },
    { path: "sys" },
    { path: "dev" },
    { path: "tmp" },
    { path: "bin/busybox", data: readFileSync(BUSYBOX), mode: 0o755 },
    ...APPLETS.map((a) => ({ path: `bin/${a}`, symlink: "busybox" })),
    { path: "bin/runner", data: readFileSync(runner), mode: 0o755 },
    { path: "program.txt", data: Buffer.from(program) },
    { path: "init", data: Buffer.from(init), mode: 0o755 },
  ];
  // zeros after the archive are skipped by the unpacker; the padded size is what the
  // model reserves for the initrd during boot
  const archive = disk ? Buffer.concat([cpioGz(entries), disk.archive]) : cpioGz(entries);
  const size = INITRD_PAGES * 4096;
  if (archive.length > size) throw new Error(`the initramfs (${archive.length} bytes) outgrew INITRD_PAGES`);
  return Buffer.concat([archive, Buffer.alloc(size - archive.length)]);
}

export const KERNEL_CMDLINE = [
  "console=ttyS0",
  "panic=-1",
  "loglevel=3",
  "memhp_default_state=online_movable",
  "nokaslr",
  "norandmaps",
  "numa_balancing=disable",
];

export interface BootResult {
  /** the "@@" lines the guest printed, without the prefix */
  lines: string[];
  /** the whole console output (for diagnostics) */
  console: string;
  seconds: number;
}

/** Boot once; resolves with the console output, or rejects on timeout or a QEMU error. */
function bootOnce(
  machine: GuestMachine,
  kernel: OracleKernel,
  initrd: string,
  opts: BootOptions,
  /** where QEMU writes the second serial port: the runner's lines */
  outFile: string,
  /** the disk image, if any */
  disk?: string,
): Promise<BootResult> {
  const append = [...KERNEL_CMDLINE, `transparent_hugepage=${opts.thp}`, ...machine.append].join(" ");
  const args = [
    ...machine.args,
    ...(disk ? ["-drive", `file=${disk},if=virtio,format=raw,cache=unsafe`] : []),
    "-kernel",
    kernel.vmlinuz,
    "-initrd",
    initrd,
    "-append",
    append,
    "-nodefaults",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-serial",
    `file:${outFile}`,
    "-no-reboot",
  ];
  const t0 = Date.now();
  return new Promise((resolveBoot, reject) => {
    const q = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    q.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    q.stderr.on("data", (d: Buffer) => {
      err += d.toString("latin1");
    });
    const timer = setTimeout(() => {
      q.kill("SIGKILL");
      reject(new Error(`the boot took longer than ${Math.round(machine.timeoutMs / 1000)} s`));
    }, machine.timeoutMs);
    q.on("error", (e) => {
      clearTimeout(timer);
      reject(
        new OracleSetupError(`cannot start qemu-system-x86_64 (${e.message}): run \`npm run oracle:setup\``),
      );
    });
    q.on("close", (code) => {
      clearTimeout(timer);
      const seconds = (Date.now() - t0) / 1000;
      const guest = existsSync(outFile) ? readFileSync(outFile, "latin1") : "";
      if (!guest.includes("@@DONE")) {
        reject(
          new Error(
            `the guest did not finish (qemu exit ${code})${err ? `: ${err.trim().split("\n").slice(-3).join(" ")}` : ""}`,
          ),
        );
        return;
      }
      const lines = guest
        .split(/\r?\n/)
        .map((l) => {
          const i = l.indexOf("@@");
          return i >= 0 ? l.slice(i + 2) : undefined;
        })
        .filter((l): l is string => l !== undefined);
      resolveBoot({ lines, console: `${out}\n--- the runner's output ---\n${guest}`, seconds });
    });
  });
}

function mke2fs(): string {
  for (const c of ["mke2fs", "/sbin/mke2fs", "/usr/sbin/mke2fs"])
    if (c.startsWith("/") ? existsSync(c) : which(c)) return c;
  throw new OracleSetupError("mke2fs is missing: run `npm run oracle:setup` first");
}

/**
 * A sparse raw image of `bytes` with an ext4 file system as the guest uses it: no journal
 * (no jbd2 thread, no journal blocks in the block device's page cache), no reserved GDT
 * blocks, few inodes, inode tables written now (no ext4lazyinit thread in the guest), the
 * root directory owned by root (the runner opens it to every task).
 */
export function makeDisk(file: string, bytes: number): void {
  const fd = openSync(file, "w");
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  const r = spawnSync(
    mke2fs(),
    [
      "-q",
      "-F",
      "-t",
      "ext4",
      "-b",
      "4096",
      "-I",
      "256",
      "-N",
      "1024",
      "-m",
      "0",
      "-O",
      "^has_journal,^resize_inode",
      "-E",
      "lazy_itable_init=0,root_owner=0:0",
      "-L",
      "cdmsim",
      file,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0)
    throw new OracleSetupError(`mke2fs failed: ${(r.stderr || r.error?.message || "").trim()}`);
}

/** Boot with one retry (a boot occasionally hangs with no output); a disk is made fresh for each. */
export async function bootBatch(
  machine: GuestMachine,
  program: string,
  opts: BootOptions,
  workDir: string,
): Promise<BootResult> {
  const kernel = findKernel();
  const runner = guestRunner();
  mkdirSync(workDir, { recursive: true });
  const initrd = join(workDir, "initrd.gz");
  writeFileSync(initrd, initramfs(runner, program, opts, kernel));
  const disk = opts.diskBytes !== undefined ? join(workDir, "disk.img") : undefined;
  const once = (out: string) => {
    if (disk) makeDisk(disk, opts.diskBytes!);
    return bootOnce(machine, kernel, initrd, opts, join(workDir, out), disk);
  };
  try {
    return await once("guest.out");
  } catch (e) {
    if (e instanceof OracleSetupError) throw e;
    return await once("guest-retry.out");
  } finally {
    if (disk) rmSync(disk, { force: true });
  }
}
