#!/usr/bin/env node
// Compile a contract with the pinned solc-js (npm `solc`, no binary download) and fixed settings,
// and write the artifact that ledger.anchor loads.
//
//   node build.js                       compile AnchorRegistry.sol -> AnchorRegistry.json
//   node build.js --check               exit 1 if AnchorRegistry.json differs from a fresh compile
//   node build.js --source S --out O    compile another source (bench variants) to O ("-" = stdout)
//
// The artifact holds abi, bytecode, deployedBytecode, the full solc version, the settings and the
// sha256 of the source, so tests can tell a stale artifact from a fresh one.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const PINNED_SOLC = require("./package.json").devDependencies.solc;

// Fixed on purpose: a different optimizer or EVM version gives different bytecode and gas.
// "paris" (no PUSH0) so the bytecode runs on permissioned chains that lag behind mainnet forks.
const SETTINGS = {
  optimizer: { enabled: true, runs: 10000 },
  evmVersion: "paris",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function parseArgs(argv) {
  const args = { source: "AnchorRegistry.sol", out: null, check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--check") args.check = true;
    else if (argv[i] === "--source") args.source = argv[++i];
    else if (argv[i] === "--out") args.out = argv[++i];
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  if (args.out === null) args.out = args.source.replace(/\.sol$/, ".json");
  return args;
}

function compile(sourcePath) {
  const version = solc.version();
  if (!version.startsWith(`${PINNED_SOLC}+`)) {
    throw new Error(`solc version mismatch: expected ${PINNED_SOLC}, got ${version}`);
  }
  const source = fs.readFileSync(sourcePath, "utf8");
  const sourceName = path.basename(sourcePath);
  const contractName = sourceName.replace(/\.sol$/, "");
  const input = { language: "Solidity", sources: { [sourceName]: { content: source } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) process.stderr.write(`${e.formattedMessage}\n`);
  if (errors.length > 0) throw new Error(`compilation of ${sourceName} failed`);
  const contract = output.contracts[sourceName][contractName];
  const artifact = {
    contractName,
    sourceName,
    sourceSha256: crypto.createHash("sha256").update(source, "utf8").digest("hex"),
    solcVersion: version,
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const here = __dirname;
  const text = compile(path.resolve(here, args.source));
  if (args.out === "-") {
    process.stdout.write(text);
    return;
  }
  const outPath = path.resolve(here, args.out);
  if (args.check) {
    const committed = fs.existsSync(outPath) ? fs.readFileSync(outPath, "utf8") : "";
    if (committed !== text) {
      process.stderr.write(`${args.out} is stale: run \`node build.js\` in ledger/contracts\n`);
      process.exit(1);
    }
    process.stdout.write(`${args.out} matches a fresh compile\n`);
    return;
  }
  fs.writeFileSync(outPath, text);
  process.stdout.write(`wrote ${args.out}\n`);
}

main();
