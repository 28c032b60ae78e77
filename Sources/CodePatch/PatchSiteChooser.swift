import LinuxTrace

/// Chooses where a compare stub's jump goes for a code point, from the code around it alone.
///
/// Replay uses it to patch; recording uses it to move a preemption off a point no patch fits
/// (the replay would otherwise find that point with a hardware breakpoint, ~20 µs a pass),
/// so both must come to the same answer for the same bytes: this type is that answer.
public struct PatchSiteChooser {
  /// How far from the code point the branch scan looks for jumps into the patched bytes.
  public static let branchScanReach: UInt64 = 16384

  private var branchIndex = BranchIndex()
  /// Sites chosen, by code point, with the code they were chosen in: a timer lands on the
  /// few instructions of a hot loop again and again.
  private var chosen: [UInt64: (windowStart: UInt64, window: [UInt8], site: Result<PatchSite, InjectionRefusal>)] = [:]

  public init() {}

  /// The code the choice reads for `codePoint` in a code mapping `mapping`: up to
  /// `branchScanReach` bytes either side, within the mapping.
  public static func window(around codePoint: UInt64, in mapping: Range<UInt64>) -> Range<UInt64> {
    max(mapping.lowerBound, codePoint &- branchScanReach)..<min(mapping.upperBound, codePoint + 32 + branchScanReach)
  }

  /// Where to patch for `codePoint`, `window` holding the tracee's bytes from `windowStart`
  /// (`window(around:in:)`): at the code point when the instructions there can be displaced
  /// and nothing branches into them; else from a certain instruction start shortly before
  /// it, whose instructions fall through to it (a loop entered in the middle, say, or a site
  /// cut short by a ret); else a short jump to a trampoline in dead padding; else a site
  /// whose inward branches are re-aimed. `int3IsPadding` is false under a debugger, whose
  /// breakpoints are int3 too.
  public mutating func site(
    codePoint: UInt64, window: [UInt8], windowStart: UInt64, int3IsPadding: Bool = true
  ) -> Result<PatchSite, InjectionRefusal> {
    if let known = chosen[codePoint], known.windowStart == windowStart, sameBytes(known.window, window) {
      return known.site
    }
    let site = choose(codePoint: codePoint, window: window, windowStart: windowStart, int3IsPadding: int3IsPadding)
    if chosen.count > 64 { chosen.removeAll() }
    chosen[codePoint] = (windowStart, window, site)
    return site
  }

  private mutating func choose(
    codePoint: UInt64, window: [UInt8], windowStart: UInt64, int3IsPadding: Bool
  ) -> Result<PatchSite, InjectionRefusal> {
    guard codePoint >= windowStart, codePoint - windowStart < UInt64(window.count) else {
      return .failure("the code point lies outside the code read around it")
    }
    let atCodePoint = site(from: codePoint, codePoint: codePoint, window: window, windowStart: windowStart)
    guard case .failure = atCodePoint else { return atCodePoint }
    let patched = earlierOrShortSite(codePoint: codePoint, window: window, windowStart: windowStart, int3IsPadding: int3IsPadding)
    guard case .failure = patched else { return patched }
    switch retargetedSite(codePoint: codePoint, window: window, windowStart: windowStart) {
    case .success(let site): return .success(site)
    case .failure(let refusal):
      guard case .failure(let first) = atCodePoint else { return atCodePoint }
      return .failure(InjectionRefusal("\(first); with its branches re-aimed: \(refusal)"))
    }
  }

  /// A site from `start` through `codePoint` that no direct branch lands inside.
  private mutating func site(from start: UInt64, codePoint: UInt64, window: [UInt8], windowStart: UInt64) -> Result<PatchSite, InjectionRefusal> {
    let offset = Int(start - windowStart)
    guard offset + 32 <= window.count else { return .failure(InjectionRefusal("the code at \(hex(start)) ends too soon")) }
    let planned = PatchSite.plan(at: start, codePoint: codePoint, code: Array(window[offset..<(offset + 32)]))
    guard case .success(let site) = planned else { return planned }
    if let from = branchIndex.branch(into: (site.address + 1)..<site.end, site: site.address, window: window, windowStart: windowStart) {
      return .failure(InjectionRefusal("a branch at \(hex(from)) may land inside the bytes patched from \(hex(start))"))
    }
    return .success(site)
  }

  /// A site at the code point whose patched bytes direct jumps land in, each re-aimed at the
  /// stub (`PatchSite.retargets`). As C1 lays out `s += j % 7`: the jcc of the check for
  /// INT_MIN / -1 land on both sides of the 2-byte idiv a timer interrupts most.
  private mutating func retargetedSite(codePoint: UInt64, window: [UInt8], windowStart: UInt64) -> Result<PatchSite, InjectionRefusal> {
    let offset = Int(codePoint - windowStart)
    guard offset + 32 <= window.count else { return .failure("the code ends too soon") }
    let planned = PatchSite.plan(at: codePoint, codePoint: codePoint, code: Array(window[offset..<(offset + 32)]))
    guard case .success(var site) = planned else { return planned }
    guard let sources = branchIndex.branches(into: (site.address + 1)..<site.end, site: site.address, window: window, windowStart: windowStart)
    else { return .failure("some code around it cannot be decoded") }
    guard !sources.isEmpty else { return .failure("no branch to re-aim") }
    let certain = PatchSite.reached(from: codePoint, window: window, windowStart: windowStart)
    return PatchSite.retargets(for: site, sources: sources, certain: certain, window: window, windowStart: windowStart).map {
      site.retargets = $0
      return site
    }
  }

  /// Once the code point itself is refused: an earlier start, or a short site with a
  /// trampoline.
  private mutating func earlierOrShortSite(
    codePoint: UInt64, window: [UInt8], windowStart: UInt64, int3IsPadding: Bool
  ) -> Result<PatchSite, InjectionRefusal> {
    // Earlier starts: those a decode from the point itself reaches round its loop, and those
    // that decoding the bytes before it agrees on. The latter: decoding agrees on instruction
    // boundaries within a few instructions of any start, so a few hundred bytes before the
    // point will do; the whole window cost milliseconds.
    var starts = Set(PatchSite.startsReached(from: codePoint, window: window, windowStart: windowStart))
    let decodeStart = max(windowStart, codePoint >= 512 ? codePoint - 512 : 0)
    let before = Array(window[Int(decodeStart - windowStart)..<min(window.count, Int(codePoint + 32 - windowStart))])
    if codePoint >= windowStart + 80 {
      starts.formUnion(PatchSite.instructionStarts(before: codePoint, code: before, codeStart: decodeStart).prefix(4))
    }
    for start in starts.sorted(by: >) {
      if case .success(let site) = site(from: start, codePoint: codePoint, window: window, windowStart: windowStart) { return .success(site) }
    }
    guard codePoint >= windowStart + 80 else { return .failure("no earlier start") }
    // No room for a jmp rel32 (a branch lands just after the point, as at a function's second
    // entry point): a jmp rel8 to one written over dead padding nearby.
    let offset = Int(codePoint - windowStart)
    let code = Array(window[offset..<min(window.count, offset + 32)])
    guard case .success(var short) = PatchSite.plan(at: codePoint, codePoint: codePoint, code: code, minimumLength: 2),
      branchIndex.branch(into: (short.address + 1)..<short.end, site: short.address, window: window, windowStart: windowStart) == nil
    else { return .failure("no short site") }
    for padding in PatchSite.deadPadding(before: codePoint, site: short.address, code: before, codeStart: decodeStart, int3IsPadding: int3IsPadding)
    where branchIndex.branch(into: padding.run.lowerBound..<(padding.trampoline + 5), site: short.address, window: window, windowStart: windowStart) == nil {
      let at = Int(padding.trampoline - windowStart)
      short.trampoline = (padding.trampoline, Array(window[at..<(at + 5)]))
      return .success(short)
    }
    return .failure("no dead padding for a trampoline")
  }
}
