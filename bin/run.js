#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: V8 otherwise lets the young generation grow to 16 MB a half (~34 MB
// in all), and `devctl logs` then holds ~40 MB more for no gain in speed (bench/logs.ts). Its
// price: with any V8 flag node compiles the built-in modules it loads instead of using their
// cached code, ~10-20 ms of start-up (bench/README.md).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
