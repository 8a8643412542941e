// Which network interface Gloo binds to. PyTorch's rule, plus one for loopback: GLOO_SOCKET_IFNAME (a
// comma-separated list) wins; a loopback master means every rank is on this machine, so bind to loopback; else
// the default device (this machine's hostname, falling back to loopback when it does not resolve).
export interface GlooDevice {
  interfaces: string[];
  /** "" = the default device. */
  hostname: string;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/i;

export function glooDevice(masterAddr: string, env: NodeJS.ProcessEnv = process.env): GlooDevice {
  const interfaces = (env.GLOO_SOCKET_IFNAME ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (interfaces.length > 0) return { interfaces, hostname: "" };
  return { interfaces: [], hostname: LOOPBACK.test(masterAddr) ? masterAddr.replace(/^\[|\]$/g, "") : "" };
}
