import CodePatch
import Glibc
import LinuxTrace
import TraceFormat

private let pageSize: UInt64 = 4096
/// The stub's mapping: a page of code, then a page for the scratch word it saves rcx in
/// (apart, so that writing it never looks like self-modifying code to the CPU).
let stubMappingSize: UInt64 = 2 * pageSize
/// mmap(2) and munmap(2) numbers and flags.
let mmapNumber = 9, munmapNumber = 11
private let protReadWriteExec: UInt64 = 0x1 | 0x2 | 0x4
private let mapPrivateAnonymousFixedNoReplace: UInt64 = 0x02 | 0x20 | 0x10_0000
/// The room left free after the program break: the heap grows there.
private let heapGrowthReserve: UInt64 = 256 << 20
/// Whether user code may run rdfsbase (the kernel enabled FSGSBASE): AT_HWCAP2 bit 1.
private let canReadFSBase: Bool = {
  // getauxval is not in Swift's Glibc module map; the auxiliary vector says the same.
  let fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var vector = [UInt8](repeating: 0, count: 4096)
  let count = vector.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
  guard count > 0 else { return false }
  return vector[..<count].withUnsafeBytes { bytes in
    stride(from: 0, to: bytes.count - 15, by: 16).contains { offset in
      bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == 26  // AT_HWCAP2
        && bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) & 0x2 != 0
    }
  }
}()

/// What a stub does at its code point.
enum StubForm: Equatable {
  /// Compares registers and memory and traps on a match; runs the point's loop itself
  /// where it can (`CompareStub.init(loopAt:...)`).
  case compare
  /// The same, never in the loop form, counting every pass (`InstalledStub.counter`).
  case countingCompare
  /// Traps at this pass through the code point, counted in the tracee: no compare.
  case toPass(Int)
}

/// A compare stub in place: its page is mapped and the code point's bytes jump to it.
struct InstalledStub {
  let site: PatchSite
  let stub: CompareStub
  let page: StubPage
  /// Whether the page stays mapped once the point is reached (`ReplaySession.stubPages`).
  let keepsPage: Bool
  /// The word in the scratch page that counts passes, for the counting forms.
  let counter: UInt64?
}

/// Where in the scratch page the counting forms keep their count: clear of the scratch
/// word and loop data at its start and of the full compare's stack at its end.
private let counterOffset: UInt64 = 2048

extension ReplaySession {
  /// Maps a compare stub for `target` into the task and patches the code point to jump to
  /// it, or says why not (then nothing has changed).
  ///
  /// Refused when: the task's stop does not allow an injected call (`injectionStop`); the
  /// code is not in a private executable mapping; the instructions there cannot be moved
  /// (`PatchSiteChooser`); a direct branch within `PatchSiteChooser.branchScanReach` bytes
  /// would land inside the patched bytes, or the task is stopped in the middle of one of the displaced
  /// instructions; no free page lies within ±2 GiB of
  /// everything the stub must reach. Indirect jumps (a switch's table) into the patched bytes
  /// cannot be ruled out: one would run the jump's bytes and end in a divergence report.
  func installCompareStub(
    for target: Registers, memory: [CodePointMemory], _ task: ReplayTask, current: Registers, changing: Set<Int>,
    ignoring ignored: Set<Int>, hot: Bool = false, form: StubForm = .compare
  ) throws -> Result<InstalledStub, InjectionRefusal> {
    var stop: InjectionStop
    switch injectionStop(task) {
    case .success(let s): stop = s
    case .failure(let refusal): return .failure(refusal)
    }
    guard let mapping = codeMapping(containing: target.rip, task) else {
      return .failure("the code point is not in a private executable mapping")
    }
    let range = PatchSiteChooser.window(around: target.rip, in: mapping.start..<mapping.end)
    let windowStart = range.lowerBound
    guard let window = try? task.tracee.readMemory(at: windowStart, count: range.count) else {
      return .failure("cannot read the code around the code point")
    }
    let site: PatchSite
    switch patchSiteChooser.site(codePoint: target.rip, window: window, windowStart: windowStart, int3IsPadding: debugger == nil) {
    case .success(let s): site = s
    case .failure(let refusal): return .failure(refusal)
    }
    // The task may be stopped inside the patched bytes (a signal at the next instruction
    // returned there): it goes on from that instruction's copy in the stub. Other threads
    // of the process may be stopped there too; they stay stopped until the bytes are back.
    var resumeInStub: Int?
    if current.rip > site.address && current.rip < site.end || current.rip == site.codePoint {
      guard let i = site.instructions.firstIndex(where: { $0.address == current.rip }) else {
        return .failure(InjectionRefusal("the task stopped inside the instruction at \(hex(site.address))"))
      }
      resumeInStub = i
    }
    // At a hot point the loop form is wanted: the watched passes that a refusal falls back
    // to move the task on to the point, from where it can resume in that form.
    if hot && resumeInStub != nil && resumeInStub != site.codePointIndex {
      return .failure("the task stopped inside the patched bytes, where only the slower stub resumes")
    }
    // The process's kept page when it reaches everything the stub must, else a new one.
    var page = stubPages[task.realTgid]
    if let kept = page, !kept.reaches(site.reachedAddresses) {
      page = nil
      stubPages[task.realTgid] = nil
      try unmap(kept, task, from: stop)
      stop = .syscallExit
    }
    let address: UInt64
    if let page {
      address = page.address
    } else {
      guard let maps = try? readMaps(of: task.realTid) else { return .failure(InjectionRefusal("cannot read /proc/PID/maps")) }
      guard let syscall = syscallInstruction(for: task, rip: current.rip, maps: maps) else {
        return .failure("no syscall instruction to inject mmap with")
      }
      guard let free = stubAddress(reaching: site.reachedAddresses, near: site.address, maps: maps, task: task) else {
        return .failure("no free page within ±2 GiB of the code point")
      }
      address = free
      page = StubPage(address: free, syscallInstruction: syscall)
    }
    let order = comparisonOrder(target, current, changing: changing).filter { !ignored.contains($0) }
    let scratch = address + pageSize
    let counter = form == .compare ? nil : scratch + counterOffset
    // The loop form when the point's loop can be copied whole, else the one that leaves the
    // stub at each pass.
    let loop =
      form == .compare && resumeInStub ?? site.codePointIndex == site.codePointIndex
      ? CompareStub(
        loopAt: site, window: window, windowStart: windowStart, at: address, scratch: address + pageSize, target: target,
        order: order, memory: memory)
      : nil
    if debugStops && loop == nil {
      printToStandardError("[replay] no loop stub at \(hex(target.rip)): resume \(String(describing: resumeInStub)) of \(site.codePointIndex), site \(hex(site.address)), first \(order.first.map { Registers.names[$0] } ?? "-")")
    }
    let built: CompareStub?
    if case .toPass = form, let counter {
      built = CompareStub(countingAt: site, at: address, scratch: scratch, counter: counter)
    } else {
      built = loop ?? CompareStub(site: site, at: address, scratch: scratch, target: target, order: order, memory: memory, counter: counter)
    }
    guard
      var stub = built,
      let entries = stub.addRetargetEntries(for: site), stub.code.count <= Int(pageSize),
      let patches = CompareStub.patches(site, jumpingTo: stub.entryAddress, entries: entries)
    else { return .failure(InjectionRefusal("the stub cannot be built at \(hex(address))")) }
    guard let page else { return .failure("no stub page") }
    // Kept from one code point to the next only without a debugger (its stepping must not
    // meet the injected calls `releaseStubPage` may need), and in memory no other process
    // shares (that one's calls would not release it).
    let keepsPage = debugger == nil && !addressSpaces.isShared(task.realTgid)
    if stubPages[task.realTgid] == nil {
      let mapped = try injectSyscall(
        mmapNumber, [address, stubMappingSize, protReadWriteExec, mapPrivateAnonymousFixedNoReplace, UInt64.max, 0],
        in: task, from: stop, using: page.syscallInstruction)
      guard UInt64(bitPattern: mapped) == address else {
        if mapped >= 0 {
          _ = try injectSyscall(munmapNumber, [UInt64(bitPattern: mapped), stubMappingSize], in: task, from: .syscallExit, using: page.syscallInstruction)
        }
        return .failure(InjectionRefusal("the injected mmap at \(hex(address)) returned \(describeResult(mapped))"))
      }
      if keepsPage { stubPages[task.realTgid] = page }
    }
    try task.tracee.writeMemory(at: address, bytes: stub.code)
    if !stub.data.isEmpty { try task.tracee.writeMemory(at: stub.dataAddress, bytes: stub.data.flatMap(littleEndian)) }
    if let counter {
      let start: UInt64
      if case .toPass(let passes) = form { start = 0 &- UInt64(passes) } else { start = 0 }
      try task.tracee.writeMemory(at: counter, bytes: littleEndian(start))
    }
    do {
      for patch in patches { try task.tracee.writeMemory(at: patch.address, bytes: patch.bytes) }
      if let i = resumeInStub {
        var registers = current
        registers.rip = stub.relocatedAddresses[i]
        try setRegisters(registers, task)
      }
    } catch {
      try? site.restore(in: task.tracee)
      throw error
    }
    if debugStops {
      printToStandardError(
        "[replay] compare stub for \(hex(site.address)) (\(site.length) bytes displaced\(site.retargets.isEmpty ? "" : ", \(site.retargets.count) branches into them re-aimed")) at \(hex(address))\(loop == nil ? "" : ", running its loop (first compare \(stub.firstCompare))"), memory \(memory.map { hex($0.address) }.joined(separator: " "))")
      if debugStubCode {
        printToStandardError("[replay] stub code " + stub.code.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
      }
    }
    return .success(InstalledStub(site: site, stub: stub, page: page, keepsPage: keepsPage, counter: counter))
  }

  /// The registers the stub compares, in the order most likely to fail a pass at the first
  /// test, the cheap one: those that change from pass to pass (`changing`: a loop counter, a
  /// pointer) and still differ from the recording; then the others that differ, those that
  /// moved furthest first (one that moved by 1 since the last event, a count of events,
  /// likely stays put in a loop); then the rest. A register that changed only since the first
  /// pass (the loop reread what a signal handler wrote) equals the recording already.
  private func comparisonOrder(_ target: Registers, _ current: Registers, changing changingRegisters: Set<Int>) -> [Int] {
    let general = CompareStub.generalRegisters.map(\.index)
    func furthestFirst(_ indices: [Int]) -> [Int] {
      indices.sorted { distance(target.words[$0], current.words[$0]) > distance(target.words[$1], current.words[$1]) }
    }
    let differing = general.filter { target.words[$0] != current.words[$0] }
    let changing = differing.filter { changingRegisters.contains($0) }
    let steady = differing.filter { !changingRegisters.contains($0) }
    let equal = general.filter { target.words[$0] == current.words[$0] }
    return furthestFirst(changing) + furthestFirst(steady) + equal + (canReadFSBase ? [CompareStub.fsBaseIndex] : [])
  }

  /// A free page within ±2 GiB (less a margin) of every address in `reached`, as close to
  /// `site` as possible, with a free page on either side (so the kernel merges it with no
  /// neighbour) and away from where the heap grows. Nil when there is none.
  private func stubAddress(reaching reached: [UInt64], near site: UInt64, maps: [MapsEntry], task: ReplayTask) -> UInt64? {
    let reach: UInt64 = (1 << 31) - 4 * pageSize
    guard let highest = reached.max(), let lowest = reached.min() else { return nil }
    let low = max(highest > reach ? highest - reach : 0, 1 << 20)
    let high = min(lowest + reach, 0x7fff_ffff_0000)
    guard low < high else { return nil }
    var avoided: [Range<UInt64>] = []
    let heapEnd = maps.first(where: { $0.name == "[heap]" })?.end
    if let startBrk = programBreakStart(of: task.realTid) {
      let end = max(heapEnd ?? startBrk, startBrk)
      avoided.append(startBrk..<(end + heapGrowthReserve))
    }
    let userMaps = maps.filter { $0.end <= 0x8000_0000_0000 }.sorted { $0.start < $1.start }
    var gaps: [Range<UInt64>] = []
    var previousEnd: UInt64 = 0
    for mapping in userMaps {
      if mapping.start > previousEnd { gaps.append(previousEnd..<mapping.start) }
      previousEnd = max(previousEnd, mapping.end)
    }
    if previousEnd < 0x7fff_ffff_f000 { gaps.append(previousEnd..<0x7fff_ffff_f000) }
    let wanted = site & ~(pageSize - 1)
    var best: UInt64?
    for gap in gaps where gap.upperBound > gap.lowerBound + stubMappingSize + 2 * pageSize {
      var first = max(gap.lowerBound + pageSize, low)
      let last = min(gap.upperBound - stubMappingSize - pageSize, high)  // the mapping's start
      first = (first + pageSize - 1) & ~(pageSize - 1)
      guard first <= last else { continue }
      var candidate = min(max(wanted, first), last) & ~(pageSize - 1)
      if candidate < first { continue }
      if let clash = avoided.first(where: { $0.overlaps(candidate..<(candidate + stubMappingSize)) }) {
        // Step out of the avoided range, to whichever side still lies in the gap.
        if clash.upperBound <= last {
          candidate = (clash.upperBound + pageSize - 1) & ~(pageSize - 1)
        } else if clash.lowerBound >= first + stubMappingSize {
          candidate = (clash.lowerBound - stubMappingSize) & ~(pageSize - 1)
        } else {
          continue
        }
        if candidate < first || candidate > last { continue }
      }
      if best.map({ distance($0, site) > distance(candidate, site) }) ?? true { best = candidate }
    }
    return best
  }
}

private func distance(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }

/// start_brk, field 47 of /proc/PID/stat: where the program break began.
private func programBreakStart(of pid: Int32) -> UInt64? {
  guard let text = try? readProcFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
  // Fields from 3 on follow the command name in parentheses (which may hold spaces).
  let fields = text[text.index(after: close)...].split(separator: " ")
  return fields.count > 44 ? UInt64(fields[44]) : nil
}

