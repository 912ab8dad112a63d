// The committed loader and type definitions match what the Rust source generates now
// (scripts/build.mjs writes fresh copies to build/generated/).
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'

for (const name of ['native.js', 'native.d.ts']) {
  test(`${name} is up to date with bindings/node`, () => {
    const fresh = new URL(`../build/generated/${name}`, import.meta.url)
    assert.ok(existsSync(fresh), 'build first: node scripts/build.mjs')
    const committed = readFileSync(new URL(`../${name}`, import.meta.url), 'utf8')
    assert.equal(committed, readFileSync(fresh, 'utf8'), `${name} drifted: run \`node scripts/build.mjs --update\` and commit`)
  })
}
