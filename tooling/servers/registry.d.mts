// Types of registry.mjs for the TypeScript tests that import it.
export interface GoTool {
  module: string;
  command: string;
  version: string;
}
export const REGISTRY: GoTool;
export const CRANE: GoTool;
export const registryBinary: string;
export const craneBinary: string;
export function ensureInstalled(): Promise<void>;
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as crane takes it. */
  host: string;
  pid: number;
  /** The last 64 KiB the registry printed. */
  output(): string;
  stop(): Promise<void>;
}
export function startRegistry(config: string, env?: NodeJS.ProcessEnv): Promise<RunningRegistry>;
export function registry(args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
export function crane(args: string[], env?: NodeJS.ProcessEnv): Promise<Buffer>;
