// Entry of the SQLite writer thread. A worker thread does not inherit the TypeScript
// loader its parent registered, so it registers one: tsx's require hook, which runs in
// this thread (the ESM hook would start one more thread just for loading).
require("tsx/cjs/api").register();
require("./writer-worker.ts");
