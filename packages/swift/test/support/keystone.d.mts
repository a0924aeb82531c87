export const ADMIN_PASSWORD: string;
export function start(): Promise<{ endpoint: string; authUrl: string; stop: () => Promise<void> }>;
export function startCephWithKeystone(keystoneEndpoint: string): Promise<{ endpoint: string; stop: () => Promise<void> }>;
export function registerObjectStore(endpoint: string, storageUrl: string): Promise<void>;
