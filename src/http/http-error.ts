/**
 * An error that carries its HTTP meaning: the status, a stable code, and whether its message may be
 * shown to the member (`expose`). The error boundary is the only place that turns it into a response.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  constructor(status: number, code: string, message: string, expose = status < 500) {
    super(message);
    this.status = status;
    this.code = code;
    this.expose = expose;
  }
}
