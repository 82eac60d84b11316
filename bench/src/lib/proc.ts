/** What the current process holds, from Linux procfs: threads, TCP connections to a port, memory. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** OS threads of this process (`Threads:` of /proc/self/status); NaN where procfs is missing. */
export function threadCount(): number {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Inode numbers of this process's socket file descriptors (/proc/self/fd links `socket:[inode]`). */
function socketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Established TCP connections of this process to `port` (any address): the rows of
 * /proc/self/net/tcp and tcp6 whose remote port is `port`, state 01 (ESTABLISHED) and inode one
 * of this process's socket fds. NaN where procfs is missing.
 */
export function tcpConnectionsTo(port: number): number {
  try {
    const inodes = socketInodes();
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    let n = 0;
    for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        if (f.length < 10) continue;
        if (f[2]!.endsWith(`:${hexPort}`) && f[3] === '01' && inodes.has(f[9]!)) n++;
      }
    }
    return n;
  } catch {
    return NaN;
  }
}

/** The broker port of the first `host:port` of the list. */
export const brokerPort = (list: string[]): number => Number(list[0]!.split(':').pop());

/** A snapshot of this process: threads, connections to the broker port, RSS and heap (MiB). */
export interface ProcSample {
  threads: number;
  connections: number;
  rssMiB: number;
  heapUsedMiB: number;
}

export function sample(port: number): ProcSample {
  const m = process.memoryUsage();
  return { threads: threadCount(), connections: tcpConnectionsTo(port), rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20 };
}

/** Samples every `everyMs` until stopped; keeps the peak of each field. */
export function peakSampler(port: number, everyMs = 50): { stop: () => ProcSample } {
  const peak: ProcSample = sample(port);
  const take = () => {
    const s = sample(port);
    peak.threads = Math.max(peak.threads, s.threads);
    peak.connections = Math.max(peak.connections, s.connections);
    peak.rssMiB = Math.max(peak.rssMiB, s.rssMiB);
    peak.heapUsedMiB = Math.max(peak.heapUsedMiB, s.heapUsedMiB);
  };
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
