#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: V8 otherwise lets the young generation grow to 16 MB a half (~34 MB
// in all) while the modules load, and `devctl logs` then holds ~35 MB more for no gain in speed
// (bench/logs.ts).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
