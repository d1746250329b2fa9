// A job that cannot run as asked for a reason the user can fix (a missing file, unsupported data):
// the command prints the message and exits 1. Anything else thrown by the job is a bug.

export class JobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobError';
  }
}
