import CCapstone
import LinuxTrace

/// The direct branches (jmp, jcc, call, loop, jrcxz with an immediate target) of the code
/// around compare-stub sites, to tell whether one lands inside bytes a patch would replace.
///
/// Code is decoded linearly a 4 KiB chunk at a time, and each chunk's branches are kept
/// while its bytes stay the same: the signals of a recording land at many points of the
/// same few functions, and scanning ±16 KiB afresh for each cost ~3 ms a point here. A
/// linear decode that starts inside an instruction falls back in step within a few
/// instructions, so each chunk's first bytes are also decoded from the next 15 offsets.
/// Jumps through a register or a table cannot be seen: one into patched bytes would run
/// the jump's bytes and end in a divergence report.
public struct BranchIndex {
  public struct Branch: Equatable {
    public var from: UInt64
    public var target: UInt64
  }

  private static let chunkSize: UInt64 = 4096
  /// Chunks kept at most (16 MiB of code); beyond that the index starts over.
  private static let chunkLimit = 4096
  private var chunks: [ChunkKey: (bytes: [UInt8], branches: [Branch]?)] = [:]

  public init() {}

  private struct ChunkKey: Hashable {
    var start: UInt64
    var end: UInt64
  }

  /// A branch in `window` (tracee bytes from `windowStart`) whose target lies in `interior`,
  /// by its address. `site` is a known instruction start from which the code is decoded too
  /// (so the bytes just after it are read in step). Undecodable code counts as such a branch.
  public mutating func branch(into interior: Range<UInt64>, site: UInt64, window: [UInt8], windowStart: UInt64) -> UInt64? {
    let found = scan(into: interior, site: site, window: window, windowStart: windowStart, all: false)
    return found.undecodable ?? found.sources.first
  }

  /// Every branch in `window` whose target lies in `interior`, by address (some may be
  /// false decodes, from inside other instructions); nil when some code there cannot be
  /// decoded, as `branch(into:...)`.
  public mutating func branches(into interior: Range<UInt64>, site: UInt64, window: [UInt8], windowStart: UInt64) -> [UInt64]? {
    let found = scan(into: interior, site: site, window: window, windowStart: windowStart, all: true)
    return found.undecodable == nil ? Array(Set(found.sources)).sorted() : nil
  }

  /// The branches into `interior` (the first only unless `all`), and the start of code that
  /// could not be decoded, which ends the scan.
  private mutating func scan(
    into interior: Range<UInt64>, site: UInt64, window: [UInt8], windowStart: UInt64, all: Bool
  ) -> (sources: [UInt64], undecodable: UInt64?) {
    var sources: [UInt64] = []
    let windowEnd = windowStart + UInt64(window.count)
    var start = windowStart
    while start < windowEnd {
      let end = min((start & ~(BranchIndex.chunkSize - 1)) + BranchIndex.chunkSize, windowEnd)
      guard let branches = chunk(from: start, to: end, window: window, windowStart: windowStart) else { return (sources, start) }
      sources += branches.filter { interior.contains($0.target) }.map(\.from)
      if !all && !sources.isEmpty { return (sources, nil) }
      start = end
    }
    guard site >= windowStart, site < windowEnd else { return (sources, nil) }
    let offset = Int(site - windowStart)
    let afterSite = window[offset..<min(window.count, offset + 256)]
    guard let branches = BranchIndex.decode(afterSite, at: site, before: site + 256) else { return (sources, site) }
    sources += branches.filter { interior.contains($0.target) }.map(\.from)
    return (sources, nil)
  }

  /// The branches starting in [start, end), decoded from the window's bytes there (and up to
  /// 15 after, for the instruction that crosses the end); nil when Capstone failed.
  private mutating func chunk(from start: UInt64, to end: UInt64, window: [UInt8], windowStart: UInt64) -> [Branch]? {
    let low = Int(start - windowStart)
    let bytes = Array(window[low..<min(window.count, Int(end - windowStart) + 15)])
    let key = ChunkKey(start: start, end: end)
    if let known = chunks[key], sameBytes(known.bytes, bytes) { return known.branches }
    var branches = BranchIndex.decode(bytes[...], at: start, before: end)
    for offset in 1..<min(16, bytes.count) where branches != nil {
      let near = BranchIndex.decode(bytes[offset..<min(bytes.count, offset + 80)], at: start + UInt64(offset), before: end)
      if let near { branches! += near } else { branches = nil }
    }
    if chunks.count >= BranchIndex.chunkLimit { chunks.removeAll() }
    chunks[key] = (bytes, branches)
    return branches
  }

  /// Every direct branch of `code` (at `address`) that starts before `limit`; nil when
  /// Capstone failed.
  public static func decode(_ code: ArraySlice<UInt8>, at address: UInt64, before limit: UInt64) -> [Branch]? {
    guard !code.isEmpty else { return [] }
    // At most one branch every two bytes.
    let capacity = code.count / 2 + 1
    var from = [UInt64](repeating: 0, count: capacity)
    var target = [UInt64](repeating: 0, count: capacity)
    let count = code.withUnsafeBufferPointer { bytes in
      rewind_list_branches(bytes.baseAddress!, bytes.count, address, limit, &from, &target, capacity)
    }
    guard count >= 0 else { return nil }
    return (0..<count).map { Branch(from: from[$0], target: target[$0]) }
  }
}
