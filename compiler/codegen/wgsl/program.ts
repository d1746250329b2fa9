// A compute kernel as the runtime sees it: WGSL source plus the data needed to bind and dispatch
// it. This is an artifact type — plain, serializable data — so `runtime/` can import it (as a
// type) without importing the compiler (DESIGN.md: the artifact is the contract).

/** One storage binding of a kernel, in binding order after the uniform block at binding 0. */
export interface WgslBinding {
  /** Binding number in `@group(0)`. */
  binding: number;
  /** What the runtime must bind here, e.g. `a`, `b`, `c`, `bias`. */
  name: string;
  access: 'read' | 'read_write';
}

/** A WGSL compute program with its shader key, bindings and dispatch rule. */
export interface WgslProgram {
  /**
   * Identifies the generated source uniquely: equal keys mean equal WGSL, so pipelines are cached
   * by it (sizes are uniforms, so they are not part of the key).
   */
  key: string;
  code: string;
  entryPoint: string;
  workgroupSize: readonly [number, number, number];
  /**
   * Output elements one workgroup covers, for the dispatch grid:
   * x = ceil(N / cols), y = ceil(M / rows), z = batch.
   */
  tile: { cols: number; rows: number };
  /**
   * The u32 fields of the uniform block at binding 0, in declaration order; the runtime packs
   * them by name (and pads the block to 16 bytes).
   */
  uniforms: readonly string[];
  bindings: readonly WgslBinding[];
}
