// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title AnchorRegistryEventOnly: the rejected low-gas alternative, kept for bench/anchor_gas.py
/// @notice Same roles, checks and Anchored event as AnchorRegistry, but history lives only in
///         event logs: storage keeps the latest anchor per origin (root + packed size/block/time).
///         Looking up (origin, size) then needs eth_getLogs over the whole history.
///         Not deployed; compiled on the fly by the gas benchmark.
contract AnchorRegistryEventOnly {
    struct Latest {
        bytes32 root;
        uint64 treeSize;
        uint64 blockNumber;
        uint64 timestamp;
    }

    address public admin;
    mapping(bytes32 originHash => mapping(address account => bool)) private _anchorers;
    mapping(bytes32 originHash => Latest) private _latest;

    event Anchored(
        bytes32 indexed originHash, string origin, uint64 treeSize, bytes32 root, address anchorer
    );
    event AnchorerGranted(bytes32 indexed originHash, string origin, address indexed account);

    error NotAdmin(address caller);
    error NotAnchorer(bytes32 originHash, address caller);
    error TreeSizeNotGrowing(bytes32 originHash, uint64 latestSize, uint64 treeSize);
    error ZeroRoot();
    error ZeroAddress();

    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) revert ZeroAddress();
        admin = initialAdmin;
    }

    function grantAnchorer(string calldata origin, address account) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        bytes32 originHash = keccak256(bytes(origin));
        _anchorers[originHash][account] = true;
        emit AnchorerGranted(originHash, origin, account);
    }

    function anchor(string calldata origin, uint64 treeSize, bytes32 root) external {
        bytes32 originHash = keccak256(bytes(origin));
        if (!_anchorers[originHash][msg.sender]) revert NotAnchorer(originHash, msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        Latest storage l = _latest[originHash];
        uint64 latestSize = l.treeSize;
        if (treeSize <= latestSize) revert TreeSizeNotGrowing(originHash, latestSize, treeSize);
        l.root = root;
        l.treeSize = treeSize;
        l.blockNumber = uint64(block.number);
        l.timestamp = uint64(block.timestamp);
        emit Anchored(originHash, origin, treeSize, root, msg.sender);
    }

    function latest(string calldata origin)
        external
        view
        returns (uint64 treeSize, bytes32 root, uint64 blockNumber, uint64 timestamp)
    {
        Latest storage l = _latest[keccak256(bytes(origin))];
        return (l.treeSize, l.root, l.blockNumber, l.timestamp);
    }
}
