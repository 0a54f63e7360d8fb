// Minimal Hardhat 2 configuration: used only to run a local JSON-RPC dev node for tests
// (`npx hardhat node`). Contracts are compiled by build.js with solc-js, never by Hardhat, so the
// sources path points at an empty directory and caches go under node_modules (gitignored).
module.exports = {
  solidity: "0.8.28",
  paths: {
    sources: "./node_modules/.hardhat-no-sources",
    cache: "./node_modules/.cache/hardhat",
    artifacts: "./node_modules/.cache/hardhat-artifacts",
  },
  networks: {
    hardhat: { chainId: 31337, mining: { auto: true } },
  },
};
