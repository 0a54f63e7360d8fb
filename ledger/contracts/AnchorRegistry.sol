// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title AnchorRegistry: consortium anchoring of signed Merkle-log checkpoints
/// @notice Each origin (a log name such as "yrd.gov.cn/log/sh") anchors (treeSize, root) pairs
///         of its RFC 9162 / SM3 Merkle log. Tree sizes grow strictly per origin, so an anchored
///         root can never be replaced and a rewritten log shows up as a root mismatch.
/// @dev    Storage per anchor: one slot for the root and one packed slot for (block, time), so an
///         auditor reads anchorOf(origin, size) with eth_call instead of scanning logs (see
///         docs/ledger.md for the measured gas of this design against event-only history).
contract AnchorRegistry {
    struct Anchor {
        bytes32 root;
        uint64 blockNumber;
        uint64 timestamp;
    }

    /// @notice The consortium admin: grants and revokes anchorer accounts.
    address public admin;

    mapping(bytes32 originHash => mapping(address account => bool)) private _anchorers;
    mapping(bytes32 originHash => uint64) private _latestSize;
    mapping(bytes32 originHash => mapping(uint64 treeSize => Anchor)) private _anchors;

    event Anchored(
        bytes32 indexed originHash, string origin, uint64 treeSize, bytes32 root, address anchorer
    );
    event AnchorerGranted(bytes32 indexed originHash, string origin, address indexed account);
    event AnchorerRevoked(bytes32 indexed originHash, string origin, address indexed account);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    /// The caller is not the consortium admin.
    error NotAdmin(address caller);
    /// The caller may not anchor for this origin.
    error NotAnchorer(bytes32 originHash, address caller);
    /// Tree sizes must grow strictly per origin (this also refuses a duplicate size).
    error TreeSizeNotGrowing(bytes32 originHash, uint64 latestSize, uint64 treeSize);
    /// A zero root is never a valid Merkle tree head.
    error ZeroRoot();
    /// The zero address cannot hold a role.
    error ZeroAddress();

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) revert ZeroAddress();
        admin = initialAdmin;
        emit AdminTransferred(address(0), initialAdmin);
    }

    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        emit AdminTransferred(admin, newAdmin);
        admin = newAdmin;
    }

    function grantAnchorer(string calldata origin, address account) external onlyAdmin {
        if (account == address(0)) revert ZeroAddress();
        bytes32 originHash = keccak256(bytes(origin));
        _anchorers[originHash][account] = true;
        emit AnchorerGranted(originHash, origin, account);
    }

    function revokeAnchorer(string calldata origin, address account) external onlyAdmin {
        bytes32 originHash = keccak256(bytes(origin));
        delete _anchorers[originHash][account];
        emit AnchorerRevoked(originHash, origin, account);
    }

    /// @notice Anchor the root of the origin's log at treeSize.
    /// @dev Reverts NotAnchorer, TreeSizeNotGrowing or ZeroRoot.
    function anchor(string calldata origin, uint64 treeSize, bytes32 root) external {
        bytes32 originHash = keccak256(bytes(origin));
        if (!_anchorers[originHash][msg.sender]) revert NotAnchorer(originHash, msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        uint64 latestSize = _latestSize[originHash];
        if (treeSize <= latestSize) revert TreeSizeNotGrowing(originHash, latestSize, treeSize);
        _latestSize[originHash] = treeSize;
        _anchors[originHash][treeSize] = Anchor(root, uint64(block.number), uint64(block.timestamp));
        emit Anchored(originHash, origin, treeSize, root, msg.sender);
    }

    function isAnchorer(string calldata origin, address account) external view returns (bool) {
        return _anchorers[keccak256(bytes(origin))][account];
    }

    /// @notice The anchor of (origin, treeSize); all zero when that size was never anchored.
    function anchorOf(string calldata origin, uint64 treeSize)
        external
        view
        returns (bytes32 root, uint64 blockNumber, uint64 timestamp)
    {
        Anchor storage a = _anchors[keccak256(bytes(origin))][treeSize];
        return (a.root, a.blockNumber, a.timestamp);
    }

    /// @notice The latest anchor of origin; all zero when the origin never anchored.
    function latest(string calldata origin)
        external
        view
        returns (uint64 treeSize, bytes32 root, uint64 blockNumber, uint64 timestamp)
    {
        bytes32 originHash = keccak256(bytes(origin));
        treeSize = _latestSize[originHash];
        Anchor storage a = _anchors[originHash][treeSize];
        return (treeSize, a.root, a.blockNumber, a.timestamp);
    }
}
