/** One line saying why `what` cannot listen on `port`, and which setting changes it. */
export function portProblem(what: string, port: number, setting: string, error: Error & { code?: string }): string {
  if (error.code === 'EADDRINUSE') return `${what} cannot listen on port ${port}: something else is using it. Set ${setting} to a free port (for example ${setting}=${port + 100}).`;
  if (error.code === 'EACCES') return `${what} may not listen on port ${port} (ports below 1024 need privileges). Set ${setting} to a port above 1024.`;
  return `${what} cannot listen on port ${port}: ${error.message}`;
}
