/** The contract every parity kind implements: which fixture files it recognises and how it checks them. */
export interface ParityResult {
  /** Fixture file stem, e.g. `eva02_base_family_tiny`. */
  fixture: string;
  /** What was compared inside the fixture, e.g. `logits` or `k5_b8.loss`. */
  check: string;
  pass: boolean;
  maxError: number;
  tolerance: number;
  detail?: string;
}

export interface ParityOptions {
  device: string;
}

export interface ParityKind {
  /** Name used by `--only`, e.g. `eva02`, `ranger21`, `ttach`. */
  name: string;
  /** Lists the fixture stems this kind checks among the file names of a folder. */
  fixtures(fileNames: string[]): string[];
  run(dir: string, fixture: string, options: ParityOptions): Promise<ParityResult[]>;
}
