// The playground's user errors, apart from the server so that the CLI's error boundary can know
// them without loading esbuild.

/** A playground that cannot start as asked (the port is taken); the message says what to do. */
export class PlaygroundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaygroundError';
  }
}
