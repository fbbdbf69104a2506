/** Writing small tar archives for tests (ustar headers, GNU long names, pax headers). */

export interface Member {
  name: string;
  data?: string;
  type?: "0" | "2" | "5" | "L" | "x";
  linkname?: string;
}

function header(name: string, size: number, type: string, linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, "utf8");
  h.write("0000644\0", 100, "latin1");
  h.write("0000000\0", 108, "latin1");
  h.write("0000000\0", 116, "latin1");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  h.write("00000000000\0", 136, "latin1");
  h.write(type, 156, "latin1");
  h.write(linkname.slice(0, 100), 157, "utf8");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

function pad(b: Buffer): Buffer {
  const rest = b.length % 512;
  return rest ? Buffer.concat([b, Buffer.alloc(512 - rest)]) : b;
}

/** A tar archive of the members; names longer than 100 bytes get a GNU 'L' entry. */
export function makeTar(members: readonly Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? "", "utf8");
    const type = m.type ?? "0";
    if (Buffer.byteLength(m.name) > 100 && type !== "L" && type !== "x") {
      const long = Buffer.from(`${m.name}\0`, "utf8");
      parts.push(header("././@LongLink", long.length, "L"), pad(long));
    }
    parts.push(header(m.name, type === "5" || type === "2" ? 0 : data.length, type, m.linkname));
    if (type !== "5" && type !== "2") parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A pax extended header record "LEN key=value\n". */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** The sysfs files of a small machine: two CPU nodes and a CPU-less movable node 2. */
export function smallSysfs(root = "box/"): Member[] {
  const n = `${root}sys/devices/system/node`;
  return [
    { name: `${n}/online`, data: "0-2\n" },
    { name: `${n}/possible`, data: "0-3\n" },
    { name: `${n}/has_cpu`, data: "0-1\n" },
    { name: `${n}/has_memory`, data: "0-2\n" },
    { name: `${n}/has_normal_memory`, data: "0-1\n" },
    { name: `${n}/node0/cpulist`, data: "0-3\n" },
    {
      name: `${n}/node0/meminfo`,
      data: "Node 0 MemTotal:        4194304 kB\nNode 0 MemFree:         4000000 kB\n",
    },
    { name: `${n}/node0/distance`, data: "10 20 40\n" },
    { name: `${n}/node1/cpulist`, data: "4-7\n" },
    { name: `${n}/node1/meminfo`, data: "Node 1 MemTotal:        4194304 kB\n" },
    { name: `${n}/node1/distance`, data: "20 10 40\n" },
    { name: `${n}/node2/cpulist`, data: "\n" },
    { name: `${n}/node2/meminfo`, data: "Node 2 MemTotal:        1048576 kB\n" },
    { name: `${n}/node2/distance`, data: "40 40 10\n" },
  ];
}
